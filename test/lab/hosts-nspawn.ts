// Booting and stopping one host: systemd-nspawn running the host's systemd in its own network namespace.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, rmdirSync, statSync } from "node:fs";
import { hostCgroupPids } from "./hosts-cgroup";
import { netnsPids } from "./netns";

const NSPAWN_RUNTIME = "/run/systemd/nspawn";

// Joins the cgroups listed before "--", then becomes the command after it: nspawn must start inside the host's
// cgroups (see hosts-cgroup.ts), and moving it after it started would race with it creating its own.
const JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 1; shift; done; shift; exec "$@"';

export interface BootSpec { name: string; machine: string; merged: string; netnsPath: string; consoleLog: string; cgroupProcs: string[]; extraArgs?: string[]; }

// Detached (own session, no terminal, output to a file) so the container neither holds the caller's stdout open
// nor dies with the caller. --register=no and --keep-unit because the machine has no systemd to register with.
export function boot(spec: BootSpec): number {
    const out = openSync(spec.consoleLog, "a");
    try {
        const args = [
            "--register=no", "--keep-unit", "--link-journal=no", "-b",
            "-D", spec.merged, "-M", spec.machine, `--hostname=${spec.name}`, `--network-namespace-path=${spec.netnsPath}`,
            ...(spec.extraArgs ?? []),
        ];
        const child = spawn("sh", ["-c", JOIN_CGROUPS, "sh", ...spec.cgroupProcs, "--", "systemd-nspawn", ...args], {
            detached: true,
            stdio: ["ignore", out, out],
            env: { ...process.env, TERM: "dumb", SYSTEMD_COLORS: "0" }, // a readable console.log, without escape codes
        });
        if (child.pid === undefined) throw new Error(`could not start systemd-nspawn for ${spec.name}`);
        child.unref();
        return child.pid;
    } finally {
        closeSync(out);
    }
}

// True while `pid` runs and has not exited into a zombie; for the PID boot() just returned, which may still be the
// shell that is about to exec nspawn.
export function isRunning(pid: number): boolean {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

// True while `pid` is the nspawn of the container `name` (its machine name) (not a recycled PID, not a zombie).
export function isNspawnOf(pid: number, name: string): boolean {
    try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return argv[0].endsWith("systemd-nspawn") && argv.includes(name);
    } catch {
        return false;
    }
}

async function hostPids(name: string, netns: string): Promise<number[]> {
    return [...new Set([...hostCgroupPids(name), ...(await netnsPids(netns))])];
}

function signal(pids: number[], sig: NodeJS.Signals): void {
    for (const p of pids) {
        try {
            process.kill(p, sig);
        } catch {
            // already gone
        }
    }
}

async function waitGone(name: string, netns: string, ms: number): Promise<number[]> {
    const deadline = Date.now() + ms;
    for (; ;) {
        const left = await hostPids(name, netns);
        if (left.length === 0 || Date.now() >= deadline) return left;
        await new Promise((r) => setTimeout(r, 200));
    }
}

// SIGTERM makes nspawn ask the container's systemd for a clean poweroff; whatever is left after that (or a container
// whose nspawn is already gone, which has no one to power it off) is killed. Processes are found through the host's
// cgroups and network namespace, so this works from a process that did not boot the host.
export async function stop(name: string, machine: string, netns: string, recordedPid?: number): Promise<{ killed: number; unreaped: number[] }> {
    const seen = await hostPids(name, netns);
    const nspawns = seen.filter((p) => isNspawnOf(p, machine));
    if (recordedPid !== undefined && !nspawns.includes(recordedPid) && isNspawnOf(recordedPid, machine)) nspawns.push(recordedPid);
    signal(nspawns, "SIGTERM");
    let left = nspawns.length > 0 ? await waitGone(name, netns, 30_000) : seen;
    const killed = left.length;
    if (killed > 0) {
        signal(left, "SIGKILL");
        left = await waitGone(name, netns, 10_000);
        if (left.length > 0) throw new Error(`host ${name}: processes ${left.join(", ")} survived SIGKILL`);
    }
    return { killed, unreaped: await waitReaped([...new Set([...seen, ...nspawns])], 10_000) };
}

// The host dies at once, as a machine that loses power: every process of the container and its nspawn gets SIGKILL
// together, so nothing inside runs a shutdown step.
export async function kill(name: string, netns: string): Promise<{ killed: number; unreaped: number[] }> {
    const seen = new Set<number>();
    const deadline = Date.now() + 10_000;
    // Again until none is left: a process may fork between listing and signalling.
    for (let left = await hostPids(name, netns); left.length > 0; left = await hostPids(name, netns)) {
        if (Date.now() >= deadline) throw new Error(`host ${name}: processes ${left.join(", ")} survived SIGKILL`);
        left.forEach((p) => seen.add(p));
        signal(left, "SIGKILL");
        await new Promise((r) => setTimeout(r, 100));
    }
    return { killed: seen.size, unreaped: await waitReaped([...seen], 10_000) };
}

// An nspawn started by another (now gone) process, or an orphaned container, is reaped by PID 1, which may take a
// moment; until then it is a zombie that still shows up in process lists. Returns the zombies left when time is up.
async function waitReaped(pids: number[], ms: number): Promise<number[]> {
    const deadline = Date.now() + ms;
    for (; ;) {
        const left = pids.filter((p) => existsSync(`/proc/${p}`) && !isRunning(p));
        if (left.length === 0 || Date.now() >= deadline) return left;
        await new Promise((r) => setTimeout(r, 100));
    }
}

// nspawn leaves a per-machine directory under /run, and a killed nspawn also its lock on the root directory
// (named after the directory's device and inode, so this must run while the overlay is still mounted).
export function removeNspawnRuntime(name: string, merged: string): void {
    rmSync(`${NSPAWN_RUNTIME}/propagate/${name}`, { recursive: true, force: true });
    if (!existsSync(merged)) return;
    const st = statSync(merged);
    rmSync(`${NSPAWN_RUNTIME}/locks/inode-${st.dev}:${st.ino}`, { force: true });
}

// ... and the shared directories it made, which are empty once no container runs.
export function releaseNspawnRuntimeDirs(): void {
    for (const d of [`${NSPAWN_RUNTIME}/propagate`, `${NSPAWN_RUNTIME}/locks`, NSPAWN_RUNTIME]) {
        try {
            rmdirSync(d);
        } catch {
            // still in use by a container that is not the lab's, or already gone
        }
    }
}
