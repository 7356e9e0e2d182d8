// What the figures were measured on, and how busy the machine was meanwhile: the README quotes both with the table.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { LAB_NAME } from "../lab/lab-id";

export interface Machine { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; node: string }

export function machine(): Machine {
    return {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
        kernel: os.release(),
        node: process.version,
    };
}

export interface Load { loadAverage1m: number; otherLabHosts: number }

/** The 1-minute load average, and how many hosts of other labs run on this machine at this moment. */
export function load(): Load {
    const namespaces = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
    const otherLabHosts = namespaces.split("\n").map((l) => l.split(" ")[0])
        .filter((n) => /^etcdlab\d*-/.test(n) && !n.startsWith(`${LAB_NAME}-`)).length;
    return { loadAverage1m: os.loadavg()[0], otherLabHosts };
}
