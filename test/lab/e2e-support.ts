// What the end-to-end tests share: commands on lab hosts, etcdctl as the admin, cluster health as an operator checks
// it, and a client that writes continuously while a change rolls out.
import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { ClusterInfo, etcdctl, etcdctlCommand, EtcdctlOptions, forgetDeployments } from "./deploy";
import { LabHosts, labDown, labUp } from "./hosts";

/** Test log lines, as TAP comments. */
export const log = (line: string) => console.log(`# ${line}`);

/**
 * Why the lab cannot run on this machine (it needs root, systemd-nspawn and any `tools` named), said once; false
 * when it can.
 */
export function labSkip(what: string, tools: string[] = []): string | false {
    const needs = ["systemd-nspawn", ...tools];
    const canRun = process.getuid?.() === 0 && needs.every((c) => spawnSync(c, ["--version"]).status === 0);
    const skip = canRun ? false : `needs root and ${needs.join(", ")} (run \`npm run setup\` as root)`;
    if (skip) console.log(`# ${what} skipped: ${skip}`);
    return skip;
}

/** Tears down whatever lab and deployments `dir` holds, then brings up fresh hosts. */
export async function freshLab(dir: string, opts: Omit<Parameters<typeof labUp>[0], "dir" | "log">): Promise<LabHosts> {
    await tearDownLab(dir);
    return labUp({ ...opts, dir, log });
}

/** Stops the lab's hosts and forgets its deployments (keys, state, cluster.json); the image cache stays. */
export async function tearDownLab(dir: string): Promise<void> {
    await labDown({ dir, log });
    forgetDeployments(dir);
}

/** Runs `command` on a lab host as the deploy user; fails the test on a non-zero exit. */
export function ssh(info: ClusterInfo, address: string, command: string, input?: string | Buffer): string {
    const r = sshTry(info, address, command, input);
    assert.equal(r.status, 0, `ssh ${address} ${command}: ${r.stderr}`);
    return r.stdout.trim();
}

/** `input` goes to the command's standard input (file contents, keys: never in the command line). */
export function sshTry(info: ClusterInfo, address: string, command: string, input?: string | Buffer): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("ip", sshArgs(info, address, command), { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** `sshTry` without blocking the event loop, so a writer (startWriter) keeps writing meanwhile. */
export function sshAsync(info: ClusterInfo, address: string, command: string): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile("ip", sshArgs(info, address, command), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) =>
            resolve({ status: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr }));
    });
}

function sshArgs(info: ClusterInfo, address: string, command: string): string[] {
    return ["netns", "exec", info.netns, "ssh", "-i", info.sshKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", `${info.sshUser}@${address}`, "--", command];
}

/** etcdctl as the admin; fails the test on a non-zero exit. */
export function ok(info: ClusterInfo, args: string[], opts?: EtcdctlOptions): string {
    const r = etcdctl(info, args, opts);
    assert.equal(r.status, 0, `etcdctl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

interface Status { Endpoint: string; Status: { header: { member_id: string }; leader: string; raftTerm: number } }

/** Every member healthy, one leader, one raft term, no alarms. Returns member IDs by endpoint. */
export function assertHealthy(info: ClusterInfo, expectedMembers: number): Map<string, string> {
    ok(info, ["endpoint", "health"]);
    // Member IDs are 64-bit: keep them as strings.
    const statuses = JSON.parse(ok(info, ["endpoint", "status", "-w", "json"]).replace(/:(\d{15,})/g, ':"$1"')) as Status[];
    assert.equal(statuses.length, expectedMembers);
    assert.equal(new Set(statuses.map((s) => s.Status.leader)).size, 1, "exactly one leader");
    assert.equal(new Set(statuses.map((s) => s.Status.raftTerm)).size, 1, "one raft term");
    assert.equal(ok(info, ["alarm", "list"]).trim(), "", "no alarms");
    return new Map(statuses.map((s) => [s.Endpoint, String(s.Status.header.member_id)]));
}

/** etcd's MainPID on every member, in member order. */
export function mainPids(info: ClusterInfo): string[] {
    return info.members.map((m) => ssh(info, m.address, "systemctl show -p MainPID --value etcd.service"));
}

/** etcdctl without blocking the event loop (a deployment runs meanwhile); resolves to its exit status. */
export function etcdctlAsync(info: ClusterInfo, args: string[], opts: EtcdctlOptions): Promise<number> {
    return new Promise<number>((resolve) => {
        const [file, argv] = etcdctlCommand(info, args, opts);
        execFile(file, argv, { timeout: 15000 }, (e) => resolve(e ? 1 : 0));
    });
}

/**
 * Each member's last restart (left active, active again) ended before the next member's began. The hosts share this
 * machine's kernel, so their monotonic clocks agree. Returns the windows for the log.
 */
export function assertRestartedOneAtATime(info: ClusterInfo): string {
    const windows = info.members.map((m) => {
        const props = new Map(ssh(info, m.address, "systemctl show -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic etcd.service")
            .split("\n").map((l) => l.split("=") as [string, string]));
        return { name: m.name, down: Number(props.get("ActiveExitTimestampMonotonic")), up: Number(props.get("ActiveEnterTimestampMonotonic")) };
    });
    for (let i = 1; i < windows.length; i++) {
        assert.ok(windows[i].down > windows[i - 1].up, `${windows[i].name} went down only after ${windows[i - 1].name} was back`);
    }
    return windows.map((w) => `${w.name} ${(w.down / 1000).toFixed(0)}-${(w.up / 1000).toFixed(0)}`).join(", ");
}

export interface WriterReport { acked: string[]; failed: number; longestGapMs: number }

/**
 * A client that writes `<prefix>NNNNNN` keys one after another until stopped, retrying a failed write as a client
 * library would (10 tries, 300 ms apart); a write that fails every try counts as failed. Reports the acknowledged
 * keys and the longest time between two acknowledgements.
 */
export function startWriter(info: ClusterInfo, prefix: string): { stop(): Promise<WriterReport> } {
    let writing = true;
    const acked: string[] = [];
    let failed = 0;
    let longestGapMs = 0;
    const done = (async () => {
        let last = Date.now();
        for (let i = 0; writing; i++) {
            const key = `${prefix}${String(i).padStart(6, "0")}`;
            let written = false;
            for (let attempt = 0; attempt < 10 && !written; attempt++) {
                written = (await etcdctlAsync(info, ["put", key, `v${i}`], { timeout: "3s" })) === 0;
                if (!written) await new Promise((r) => setTimeout(r, 300));
            }
            if (written) {
                acked.push(key);
                longestGapMs = Math.max(longestGapMs, Date.now() - last);
                last = Date.now();
            } else {
                failed++;
            }
        }
    })();
    return {
        async stop() {
            writing = false;
            await done;
            return { acked, failed, longestGapMs };
        },
    };
}

/** Acknowledged keys that cannot be read back under `prefix`. */
export function missingWrites(info: ClusterInfo, prefix: string, acked: string[]): string[] {
    const stored = new Set(ok(info, ["get", prefix, "--prefix", "--keys-only"]).split("\n").filter(Boolean));
    return acked.filter((k) => !stored.has(k));
}
