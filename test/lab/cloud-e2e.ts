// What the cloud end-to-end tests (lab-aws, lab-gcp) look at besides the cluster: the runtime's record of the
// resources the stack made, which ports an address answers on from a given namespace, and when a member's machine
// booted and its etcd started.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ClusterInfo } from "./deploy";
import { ssh } from "./e2e-support";

interface State { resources: Record<string, { type: string; name: string; id: string; outputs: Record<string, unknown> }> }

/** The resources of one type by name, from the lab runtime's state (what `pulumi stack export` shows). */
export function stackResources(dir: string, type: string): Record<string, { id: string; outputs: Record<string, unknown> }> {
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as State;
    return Object.fromEntries(Object.values(state.resources).filter((r) => r.type === type).map((r) => [r.name, { id: r.id, outputs: r.outputs }]));
}

/**
 * The ports of `ports` that `address` accepts a TCP connection on from namespace `netns`. All at once, each given
 * 10 s: a dropped SYN only times out, and a loaded machine is slow to connect.
 */
export function openPorts(netns: string, address: string, ports: number[]): number[] {
    const probe = `for p in ${ports.join(" ")}; do (timeout 10 bash -c "</dev/tcp/${address}/$p" 2>/dev/null && echo $p) & done; wait`;
    return spawnSync("ip", ["netns", "exec", netns, "bash", "-c", probe], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number).sort();
}

/** Whether etcdctl, run in namespace `netns` with the admin's certificate, gets the cluster's health. */
export function healthyFrom(info: ClusterInfo, netns: string): boolean {
    return spawnSync("ip", ["netns", "exec", netns, info.etcdctl, `--endpoints=${info.endpoints.join(",")}`, `--cacert=${info.ca}`, `--cert=${info.cert}`,
        `--key=${info.key}`, "--dial-timeout=3s", "--command-timeout=5s", "endpoint", "health"], { encoding: "utf8" }).status === 0;
}

/** Seconds since this machine booted, as the shared kernel counts them, of the guest's PID 1 start and etcd's start. */
export function startTimes(info: ClusterInfo, address: string): { boot: number; etcd: number } {
    const stat = ssh(info, address, "cat /proc/1/stat");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const etcd = Number(ssh(info, address, "systemctl show -p ActiveEnterTimestampMonotonic --value etcd.service"));
    return { boot: ticks / Number(ssh(info, address, "getconf CLK_TCK")), etcd: etcd / 1e6 };
}
