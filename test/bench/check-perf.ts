// `etcdctl check perf`: etcd's own load check (a 60 s run at the load's write rate), pass/fail and writes per second.
import { spawn } from "node:child_process";
import { ClusterInfo, etcdctlCommand } from "../lab/deploy";

/** `verdicts`: etcdctl's lines on throughput, slowest request and spread, e.g. "FAIL: Throughput too low: 139 writes/s". */
export interface PerfResult { pass: boolean; writesPerSecond: number; verdicts: string[] }

export function checkPerf(info: ClusterInfo, load: string): Promise<PerfResult> {
    // Compaction and defragmentation afterwards, so every run starts from the same small keyspace.
    const [file, argv] = etcdctlCommand(info, ["check", "perf", `--load=${load}`, "--auto-compact", "--auto-defrag"], { timeout: "30s" });
    return new Promise((resolve, reject) => {
        // Not spawnSync: this process must still answer Ctrl-C (and tear the lab down) during the minute it runs.
        const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (c: Buffer) => { output += c.toString(); });
        child.stderr.on("data", (c: Buffer) => { output += c.toString(); });
        child.on("error", reject);
        child.on("close", (code) => {
            const rate = /Throughput (?:is|too low:) (\d+) writes\/s/.exec(output);
            if (!rate) return reject(new Error(`etcdctl check perf --load=${load} gave no throughput (exit ${code}):\n${output.slice(-2000)}`));
            const verdicts = output.split("\n").map((l) => l.trim()).filter((l) => /(Throughput|Slowest request|Stddev)/.test(l));
            resolve({ pass: code === 0 && /^PASS\s*$/m.test(output), writesPerSecond: Number(rate[1]), verdicts });
        });
    });
}
