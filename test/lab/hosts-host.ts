// One lab host's life: boot it from the image, wait for its sshd, stop it cleanly or kill it outright, and throw its
// files away, keeping named directories when it is rebuilt.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createHostCgroups, removeHostCgroups } from "./hosts-cgroup";
import { attachHostDisks, writeDiskLinksUnit } from "./hosts-disks";
import { boot, isRunning, kill, removeNspawnRuntime, stop } from "./hosts-nspawn";
import { mountOverlay, mountsUnder, unmount, writeHostFiles } from "./hosts-overlay";
import { waitForSsh } from "./hosts-ssh";
import { HostState } from "./hosts-state";
import { LAB_NETNS, hostNetns } from "./netns";

type Log = (msg: string) => void;

const BOOT_TIMEOUT_MS = 120_000;

export function hostDir(dir: string, name: string): string {
    return join(dir, "hosts", name);
}

function consoleTail(dir: string, name: string): string {
    const file = join(hostDir(dir, name), "console.log");
    if (!existsSync(file)) return "(no console.log)";
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-30).join("\n");
}

function etcHosts(hosts: HostState[]): string {
    return ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback", ...hosts.map((h) => `${h.address} ${h.name}`), ""].join("\n");
}

/** Mounts the host's root (its upper layer over the image) and boots it; `all` are the hosts /etc/hosts lists. */
export async function startHost(dir: string, rootfs: string, publicKey: string, h: HostState, all: HostState[]): Promise<void> {
    const merged = await mountOverlay(rootfs, hostDir(dir, h.name));
    h.hostKey = await writeHostFiles(merged, { hostname: h.name, etcHosts: etcHosts(all), authorizedKey: publicKey });
    const extraArgs = h.disks ? await attachHostDisks(dir, h.name) : [];
    if (h.disks) writeDiskLinksUnit(merged);
    h.pid = boot({ extraArgs, name: h.name, machine: h.netns, merged, netnsPath: `/run/netns/${h.netns}`, consoleLog: join(hostDir(dir, h.name), "console.log"), cgroupProcs: createHostCgroups(h.name) });
}

/** Rewrites /etc/hosts on the running hosts, so each names the hosts the lab has now. */
export function updateEtcHosts(dir: string, running: HostState[], all: HostState[]): void {
    for (const h of running) writeFileSync(join(hostDir(dir, h.name), "merged", "etc", "hosts"), etcHosts(all));
}

export async function waitUp(dir: string, sshKey: string, hosts: HostState[]): Promise<void> {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    const outcomes = await Promise.all(hosts.map((h) => waitForSsh(LAB_NETNS, sshKey, h.address, deadline, () => h.pid !== undefined && isRunning(h.pid))));
    const failed = hosts.map((h, i) => ({ h, outcome: outcomes[i] })).filter((f) => f.outcome !== "up");
    if (failed.length > 0) {
        const details = failed.map(({ h, outcome }) => {
            const why = outcome === "exited" ? "systemd-nspawn exited" : `sshd did not answer within ${BOOT_TIMEOUT_MS / 1000}s`;
            return `--- ${h.name} (${h.address}): ${why}; console.log, last lines:\n${consoleTail(dir, h.name)}`;
        });
        throw new Error(`hosts: ${failed.length} of ${hosts.length} did not come up\n${details.join("\n")}`);
    }
}

/**
 * Ends the host's container: a clean poweroff (`stop`) or SIGKILL of every process at once (`kill`, as a machine that
 * loses power), then unmounts its root. Its files, network namespace and cgroups stay.
 */
export async function haltHost(dir: string, name: string, how: "stop" | "kill", recordedPid: number | undefined, log: Log): Promise<void> {
    const netns = hostNetns(name);
    const { killed, unreaped } = how === "stop" ? await stop(name, netns, netns, recordedPid) : await kill(name, netns);
    if (how === "stop" && killed > 0) log(`${name}: ${killed} processes killed (no clean poweroff)`);
    if (unreaped.length > 0) log(`${name}: ${unreaped.join(", ")} exited but PID 1 has not reaped them yet (zombies)`);
    removeNspawnRuntime(netns, join(hostDir(dir, name), "merged"));
    for (const m of mountsUnder(hostDir(dir, name)).reverse()) await unmount(m);
    removeHostCgroups(name);
}

/**
 * Throws away the host's own files (its overlay's upper layer: everything it wrote since it was made from the image),
 * except the directories in `keepPaths`, which are moved aside and back so they keep their owners and modes.
 * The host must be halted.
 */
export function resetHostFiles(dir: string, name: string, keepPaths: string[]): string[] {
    for (const p of keepPaths) {
        if (!p.startsWith("/") || p.split("/").includes("..") || p === "/") throw new Error(`keep path ${p}: expected an absolute directory below /`);
    }
    const hd = hostDir(dir, name);
    if (mountsUnder(hd).length > 0) throw new Error(`${name}: still mounted, halt it first`);
    const upper = join(hd, "upper");
    const aside = join(hd, "kept");
    rmSync(aside, { recursive: true, force: true });
    const kept = keepPaths.filter((p) => existsSync(join(upper, p)));
    for (const p of kept) {
        mkdirSync(dirname(join(aside, p)), { recursive: true });
        renameSync(join(upper, p), join(aside, p));
    }
    for (const d of ["upper", "work", "merged"]) rmSync(join(hd, d), { recursive: true, force: true });
    for (const p of kept) {
        // Parents made here hold no whiteout, so the image's contents of those directories show through.
        mkdirSync(dirname(join(upper, p)), { recursive: true, mode: 0o755 });
        renameSync(join(aside, p), join(upper, p));
    }
    rmSync(aside, { recursive: true, force: true });
    return kept;
}
