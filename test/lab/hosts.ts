// N real systemd hosts on this machine for end-to-end tests: containers booted with systemd-nspawn from a cached
// Debian image, each in its own network namespace on a bridge that has no way out of the machine.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ensureEtcdArchive } from "./etcd-archive";
import { ensureImage } from "./image";
import { labCacheDir } from "./lab-id";
import { createHostCgroups, labCgroupHosts, removeHostCgroups, removeLabCgroup } from "./hosts-cgroup";
import { boot, isRunning, releaseNspawnRuntimeDirs, removeNspawnRuntime, stop } from "./hosts-nspawn";
import { mountOverlay, mountsUnder, unmount, writeHostFiles } from "./hosts-overlay";
import { createKey, labSsh, waitForSsh } from "./hosts-ssh";
import { HostState, LabState, readState, removeState, writeState } from "./hosts-state";
import { LAB_NETNS, assertIsolated, assertOutsideLab, createHostNetns, createLabNetns, deleteNetns, hostAddress, hostNetns, labNamespaces, netnsPids, releaseNetnsDir } from "./netns";

/** hostKey: the host's SSH public key line (`ssh-ed25519 AAAA...`), made when the host was created. */
export interface LabHost { name: string; address: string; hostKey: string; }

export interface LabHosts {
    netns: string;
    hosts: LabHost[];
    sshKey: string;
    sshUser: "root";
    etcdArchive: string;
    etcdVersion: string;
}

type Log = (msg: string) => void;

const MAX_HOSTS = 50;
const BOOT_TIMEOUT_MS = 120_000;

function seconds(since: number): string {
    return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

function toLabHosts(s: LabState): LabHosts {
    return {
        netns: s.netns,
        hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, hostKey: h.hostKey ?? "" })),
        sshKey: s.sshKey,
        sshUser: "root",
        etcdArchive: s.etcdArchive,
        etcdVersion: s.etcdVersion,
    };
}

async function allReachable(s: LabState): Promise<boolean> {
    if (!existsSync(s.sshKey)) return false;
    const answers = await Promise.all(s.hosts.map((h) => labSsh(s.netns, s.sshKey, h.address, "true", 10_000)));
    return answers.every((a) => a.code === 0);
}

function consoleTail(hostDir: string): string {
    const file = join(hostDir, "console.log");
    if (!existsSync(file)) return "(no console.log)";
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-30).join("\n");
}

function etcHosts(hosts: HostState[]): string {
    return ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback", ...hosts.map((h) => `${h.address} ${h.name}`), ""].join("\n");
}

async function bringUp(dir: string, count: number, rootfs: string, archive: { path: string; version: string }, log: Log): Promise<LabHosts> {
    let t = Date.now();
    mkdirSync(join(dir, "ssh"), { recursive: true, mode: 0o700 });
    const sshKey = join(dir, "ssh", "id_ed25519");
    const publicKey = await createKey(sshKey);
    const hosts: HostState[] = Array.from({ length: count }, (_, i) => {
        const name = `etcd-${i + 1}`;
        return { name, address: hostAddress(i + 1), netns: hostNetns(name) };
    });
    const state: LabState = { netns: LAB_NETNS, sshKey, etcdArchive: archive.path, etcdVersion: archive.version, hosts };
    // Recorded before anything exists, so a labDown from another process finds a half-made lab too.
    writeState(dir, state);

    await createLabNetns();
    for (const h of hosts) await createHostNetns(h.name, h.address);
    for (const ns of [LAB_NETNS, ...hosts.map((h) => h.netns)]) await assertIsolated(ns);
    log(`network: ${LAB_NETNS} bridge + ${count} host namespaces, no link out (${seconds(t)})`);

    t = Date.now();
    for (const h of hosts) {
        const hostDir = join(dir, "hosts", h.name);
        const merged = await mountOverlay(rootfs, hostDir);
        h.hostKey = await writeHostFiles(merged, { hostname: h.name, etcHosts: etcHosts(hosts), authorizedKey: publicKey });
        h.pid = boot({ name: h.name, machine: h.netns, merged, netnsPath: `/run/netns/${h.netns}`, consoleLog: join(hostDir, "console.log"), cgroupProcs: createHostCgroups(h.name) });
    }
    writeState(dir, state);

    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    const outcomes = await Promise.all(hosts.map((h) => waitForSsh(LAB_NETNS, sshKey, h.address, deadline, () => h.pid !== undefined && isRunning(h.pid))));
    const failed = hosts.map((h, i) => ({ h, outcome: outcomes[i] })).filter((f) => f.outcome !== "up");
    if (failed.length > 0) {
        const details = failed.map(({ h, outcome }) => {
            const why = outcome === "exited" ? "systemd-nspawn exited" : `sshd did not answer within ${BOOT_TIMEOUT_MS / 1000}s`;
            return `--- ${h.name} (${h.address}): ${why}; console.log, last lines:\n${consoleTail(join(dir, "hosts", h.name))}`;
        });
        throw new Error(`hosts: ${failed.length} of ${count} did not come up\n${details.join("\n")}`);
    }
    log(`hosts: ${count} booted, sshd up (${seconds(t)})`);
    return toLabHosts(state);
}

export async function labUp(opts: { count: number; dir: string; log?: Log }): Promise<LabHosts> {
    const dir = resolve(opts.dir);
    const log = opts.log ?? (() => undefined);
    const { count } = opts;
    if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) throw new Error(`labUp: count must be an integer from 1 to ${MAX_HOSTS}, got ${count}`);
    await assertOutsideLab();
    const cache = labCacheDir(dir);

    let t = Date.now();
    const image = await ensureImage(cache);
    log(`image: ${image.cached ? "cached" : "built"} ${image.rootfs} (${seconds(t)})`);
    t = Date.now();
    const archive = await ensureEtcdArchive(cache);
    log(`etcd archive: ${archive.cached ? "cached" : "built"} ${basename(archive.path)} (${seconds(t)})`);

    const previous = readState(dir);
    if (previous) {
        t = Date.now();
        if (previous.hosts.length === count && (await allReachable(previous))) {
            log(`hosts: reusing ${count} running hosts (${seconds(t)})`);
            return toLabHosts({ ...previous, etcdArchive: archive.path, etcdVersion: archive.version });
        }
        log(previous.hosts.length === count ? "hosts: recorded hosts do not answer: replacing them" : `hosts: ${previous.hosts.length} running, ${count} wanted: replacing them`);
    }
    // Also clears what a crashed run may have left without a state file.
    await labDown({ dir, log });
    try {
        return await bringUp(dir, count, image.rootfs, archive, log);
    } catch (e) {
        log("hosts: bring-up failed: tearing down");
        await labDown({ dir, log });
        throw e;
    }
}

// Whatever still runs in the lab namespace (a deploy driver, an etcdctl) can only talk to hosts that are gone.
async function killLabNetnsProcesses(log: Log): Promise<void> {
    const strays = await netnsPids(LAB_NETNS);
    if (strays.length === 0) return;
    log(`down: killing ${strays.length} processes left in ${LAB_NETNS}: ${strays.join(", ")}`);
    for (const p of strays) {
        try {
            process.kill(p, "SIGKILL");
        } catch {
            // already gone
        }
    }
}

function hostDirNames(dir: string): string[] {
    const hostsDir = join(dir, "hosts");
    return existsSync(hostsDir) ? readdirSync(hostsDir) : [];
}

export async function labDown(opts: { dir: string; log?: Log }): Promise<void> {
    const dir = resolve(opts.dir);
    const log = opts.log ?? (() => undefined);
    const t = Date.now();
    await assertOutsideLab();
    const state = readState(dir);
    const namespaces = await labNamespaces();
    // The state file names what labUp made; the cgroups, namespaces and directories also catch a run that crashed
    // before writing it.
    const names = new Set([
        ...(state?.hosts.map((h) => h.name) ?? []),
        ...labCgroupHosts(),
        ...namespaces.filter((n) => n !== LAB_NETNS).map((n) => n.slice(LAB_NETNS.length + 1)),
        ...hostDirNames(dir),
    ]);
    if (names.size === 0 && namespaces.length === 0 && !state && !existsSync(join(dir, "ssh"))) {
        log(`down: nothing to remove (${seconds(t)})`);
        return;
    }

    const errors: string[] = [];
    await Promise.all(
        [...names].map(async (name) => {
            try {
                const { killed, unreaped } = await stop(name, hostNetns(name), hostNetns(name), state?.hosts.find((h) => h.name === name)?.pid);
                if (killed > 0) log(`down: ${name}: ${killed} processes killed (no clean poweroff)`);
                if (unreaped.length > 0) log(`down: ${name}: ${unreaped.join(", ")} exited but PID 1 has not reaped them yet (zombies)`);
                removeNspawnRuntime(hostNetns(name), join(dir, "hosts", name, "merged"));
                for (const m of mountsUnder(join(dir, "hosts", name)).reverse()) await unmount(m);
                if (namespaces.includes(hostNetns(name))) await deleteNetns(hostNetns(name));
                removeHostCgroups(name);
            } catch (e) {
                errors.push(`${name}: ${(e as Error).message}`);
            }
        }),
    );
    if (namespaces.includes(LAB_NETNS)) {
        await killLabNetnsProcesses(log);
        await deleteNetns(LAB_NETNS);
    }
    removeLabCgroup();
    releaseNspawnRuntimeDirs();
    await releaseNetnsDir();
    // Deleting through a still-mounted overlay would be wrong, so files go only once every mount is gone.
    const mounted = mountsUnder(join(dir, "hosts"));
    if (errors.length > 0 || mounted.length > 0) {
        throw new Error(`labDown: could not remove everything (state kept in ${dir}/hosts.json for another try):\n${[...errors, ...mounted.map((m) => `still mounted: ${m}`)].join("\n")}`);
    }
    rmSync(join(dir, "hosts"), { recursive: true, force: true });
    rmSync(join(dir, "ssh"), { recursive: true, force: true });
    removeState(dir);
    log(`down: ${names.size} hosts stopped, namespaces, mounts and files removed (${seconds(t)})`);
}
