// Real systemd hosts on this machine for end-to-end tests: containers booted with systemd-nspawn from a cached
// Debian image, each in its own network namespace on a bridge that has no way out of the machine. A running lab
// changes in place: hosts are added (labUp with a larger count, labAddHosts), removed (labRemoveHosts), killed with
// their data (labKill) and rebuilt from the image keeping named directories (labRebuild).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { cloudFile } from "./cloud-store";
import { ensureEtcdArchive } from "./etcd-archive";
import { ensureImage } from "./image";
import { labCacheDir, labDir } from "./lab-id";
import { labCgroupHosts, removeLabCgroup } from "./hosts-cgroup";
import { destroyDisks, labDiskLink } from "./hosts-disks";
import { haltHost, hostDir, resetHostFiles, startHost, updateEtcHosts, waitUp } from "./hosts-host";
import { releaseNspawnRuntimeDirs } from "./hosts-nspawn";
import { mountsUnder } from "./hosts-overlay";
import { createKey, labSsh } from "./hosts-ssh";
import { HostState, LabState, readState, removeState, writeState } from "./hosts-state";
import { LAB_NETNS, assertIsolated, assertOutsideLab, createHostNetns, createLabNetns, deleteNetns, hostAddress, hostNetns, labNamespaces, netnsPids, releaseNetnsDir } from "./netns";

/** hostKey: the host's SSH public key line (`ssh-ed25519 AAAA...`), made when the host was created. */
export interface LabHost { name: string; address: string; hostKey: string; dataDevice?: string; walDevice?: string; }

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

function seconds(since: number): string {
    return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

function labHost(h: HostState): LabHost {
    return { name: h.name, address: h.address, hostKey: h.hostKey ?? "", ...(h.disks ? { dataDevice: labDiskLink("data"), walDevice: labDiskLink("wal") } : {}) };
}

function toLabHosts(s: LabState, hosts: HostState[]): LabHosts {
    return {
        netns: s.netns,
        hosts: hosts.map(labHost),
        sshKey: s.sshKey,
        sshUser: "root",
        etcdArchive: s.etcdArchive,
        etcdVersion: s.etcdVersion,
    };
}

async function reachable(s: LabState, h: HostState): Promise<boolean> {
    return (await labSsh(s.netns, s.sshKey, h.address, "true", 10_000)).code === 0;
}

function hostIndex(name: string): number {
    return Number(/^etcd-(\d+)$/.exec(name)?.[1] ?? 0);
}

// New hosts always get the next index up, so a fresh host never takes the address of one the lab still records.
function newHosts(state: LabState, count: number): HostState[] {
    const next = Math.max(0, ...state.hosts.map((h) => hostIndex(h.name))) + 1;
    if (next + count - 1 > MAX_HOSTS) throw new Error(`the lab has room for hosts etcd-1 to etcd-${MAX_HOSTS}`);
    return Array.from({ length: count }, (_, i) => {
        const name = `etcd-${next + i}`;
        return { name, address: hostAddress(next + i), netns: hostNetns(name), disks: state.disks };
    });
}

function requireState(dir: string): LabState {
    const state = readState(dir);
    if (!state) throw new Error(`no lab in ${dir}: bring one up first (npm run lab -- hosts)`);
    return state;
}

function requireHost(state: LabState, name: string): HostState {
    const h = state.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no lab host ${name}; the lab has ${state.hosts.map((x) => x.name).join(", ")}`);
    return h;
}

// Boots `hosts` (recorded in `state` already) in their own new network namespaces and waits for their sshd.
async function bootNew(dir: string, state: LabState, hosts: HostState[], rootfs: string): Promise<void> {
    for (const h of hosts) await createHostNetns(h.name, h.address);
    for (const h of hosts) await assertIsolated(h.netns);
    const publicKey = readFileSync(`${state.sshKey}.pub`, "utf8");
    for (const h of hosts) await startHost(dir, rootfs, publicKey, h, state.hosts);
    writeState(dir, state);
    await waitUp(dir, state.sshKey, hosts);
}

async function bringUp(dir: string, count: number, disks: boolean, rootfs: string, archive: { path: string; version: string }, log: Log): Promise<LabHosts> {
    const t = Date.now();
    mkdirSync(join(dir, "ssh"), { recursive: true, mode: 0o700 });
    const sshKey = join(dir, "ssh", "id_ed25519");
    await createKey(sshKey);
    const state: LabState = { netns: LAB_NETNS, sshKey, etcdArchive: archive.path, etcdVersion: archive.version, hosts: [], disks };
    state.hosts = newHosts(state, count);
    // Recorded before anything exists, so a labDown from another process finds a half-made lab too.
    writeState(dir, state);
    await createLabNetns();
    await assertIsolated(LAB_NETNS);
    await bootNew(dir, state, state.hosts, rootfs);
    log(`hosts: ${count} booted in their own namespaces on the ${LAB_NETNS} bridge (no link out), sshd up (${seconds(t)})`);
    return toLabHosts(state, state.hosts);
}

/**
 * Brings up a lab of `count` hosts, or changes a running one in place: hosts that run keep running with their data,
 * hosts are added when fewer than `count` are usable (lost ones do not count). Returns `count` usable hosts to deploy
 * onto; hosts beyond them keep running until labRemoveHosts (the CLI removes them after deploying the smaller set).
 * `onFresh` runs when every host is made anew (no lab ran): a deployment state kept from before describes machines
 * that are gone.
 */
export async function labUp(opts: { count: number; dir: string; log?: Log; disks?: boolean; onFresh?: () => void }): Promise<LabHosts> {
    const dir = resolve(opts.dir);
    const log = opts.log ?? (() => undefined);
    const { count } = opts;
    if (!Number.isInteger(count) || count < 0 || count > MAX_HOSTS) throw new Error(`labUp: count must be an integer from 0 (the lab network only, for a cloud stack that makes its own machines) to ${MAX_HOSTS}, got ${count}`);
    await assertOutsideLab();
    const cache = labCacheDir(dir);

    let t = Date.now();
    const image = await ensureImage(cache);
    log(`image: ${image.cached ? "cached" : "built"} ${image.rootfs} (${seconds(t)})`);
    t = Date.now();
    const archive = await ensureEtcdArchive(cache);
    log(`etcd archive: ${archive.cached ? "cached" : "built"} ${basename(archive.path)} (${seconds(t)})`);

    const previous = readState(dir);
    if (previous && !!previous.disks !== !!opts.disks) log(`hosts: the running lab has ${previous.disks ? "" : "no "}data and WAL disks: replacing it`);
    else if (previous && (await labNamespaces()).includes(LAB_NETNS) && existsSync(previous.sshKey)) {
        const state = { ...previous, etcdArchive: archive.path, etcdVersion: archive.version };
        const usable = state.hosts.filter((h) => !h.lost);
        for (const h of usable) if (!(await reachable(state, h))) log(`hosts: ${h.name} (${h.address}) does not answer: kept as it is (rebuild it with npm run lab -- rebuild ${h.name})`);
        if (usable.length < count) {
            t = Date.now();
            const added = await addHosts(dir, state, count - usable.length, image.rootfs);
            usable.push(...added);
            log(`hosts: added ${added.map((h) => `${h.name} (${h.address})`).join(", ")} (${seconds(t)})`);
        }
        writeState(dir, state);
        const chosen = usable.slice(0, count);
        const others = state.hosts.filter((h) => !chosen.includes(h)).map((h) => h.name);
        log(`hosts: using ${chosen.map((h) => h.name).join(", ")}${others.length > 0 ? `; also recorded: ${others.join(", ")}` : ""}`);
        return toLabHosts(state, chosen);
    }
    // Also clears what a crashed run may have left without a state file.
    await labDown({ dir, log });
    opts.onFresh?.();
    try {
        return await bringUp(dir, count, opts.disks ?? false, image.rootfs, archive, log);
    } catch (e) {
        log("hosts: bring-up failed: tearing down");
        await labDown({ dir, log });
        throw e;
    }
}

async function addHosts(dir: string, state: LabState, count: number, rootfs: string): Promise<HostState[]> {
    const added = newHosts(state, count);
    state.hosts.push(...added);
    writeState(dir, state);
    await bootNew(dir, state, added, rootfs);
    updateEtcHosts(dir, running(state), state.hosts);
    return added;
}

function running(state: LabState): HostState[] {
    return state.hosts.filter((h) => !h.lost);
}

/** Adds `count` fresh hosts (default 1) at new addresses to the running lab; nothing is deployed on them. */
export async function labAddHosts(opts: { count?: number; dir?: string; log?: Log } = {}): Promise<LabHost[]> {
    const dir = resolve(opts.dir ?? labDir());
    await assertOutsideLab();
    const state = requireState(dir);
    const t = Date.now();
    const added = await addHosts(dir, state, opts.count ?? 1, (await ensureImage(labCacheDir(dir))).rootfs);
    opts.log?.(`hosts: added ${added.map((h) => `${h.name} (${h.address})`).join(", ")} (${seconds(t)})`);
    return added.map(labHost);
}

/** Stops the named hosts cleanly and removes them with their files and network namespaces: gone from the lab. */
export async function labRemoveHosts(names: string[], opts: { dir?: string; log?: Log } = {}): Promise<void> {
    const dir = resolve(opts.dir ?? labDir());
    await assertOutsideLab();
    const log = opts.log ?? (() => undefined);
    const state = requireState(dir);
    const hosts = names.map((n) => requireHost(state, n));
    const namespaces = await labNamespaces();
    for (const h of hosts) {
        const t = Date.now();
        if (!h.lost) await haltHost(dir, h.name, "stop", h.pid, log);
        if (namespaces.includes(h.netns)) await deleteNetns(h.netns);
        rmSync(hostDir(dir, h.name), { recursive: true, force: true });
        state.hosts = state.hosts.filter((x) => x !== h);
        writeState(dir, state);
        log(`hosts: ${h.name} (${h.address}) stopped and removed (${seconds(t)})`);
    }
    updateEtcHosts(dir, running(state), state.hosts);
}

// What an operation on one recorded host starts from.
async function openHost(name: string, opts: { dir?: string; log?: Log }): Promise<{ dir: string; log: Log; state: LabState; h: HostState }> {
    const dir = resolve(opts.dir ?? labDir());
    await assertOutsideLab();
    const state = requireState(dir);
    return { dir, log: opts.log ?? (() => undefined), state, h: requireHost(state, name) };
}

/**
 * The host dies at once and is lost with its data: SIGKILL of its container, its files thrown away, its network
 * namespace removed (its address stops answering). The lab keeps its name and address for labRebuild.
 */
export async function labKill(name: string, opts: { dir?: string; log?: Log } = {}): Promise<void> {
    const { dir, log, state, h } = await openHost(name, opts);
    const t = Date.now();
    if (!h.lost) await haltHost(dir, name, "kill", h.pid, log);
    resetHostFiles(dir, name, []);
    await destroyDisks(dir, name);
    if ((await labNamespaces()).includes(h.netns)) await deleteNetns(h.netns);
    h.lost = true;
    h.pid = undefined;
    writeState(dir, state);
    log(`hosts: ${name} (${h.address}) killed, its files thrown away (${seconds(t)})`);
}

/**
 * A fresh host from the image at the same name and address, keeping only the directories in `keepPaths` (for
 * example the data and WAL dirs: a machine reinstalled with its data disks kept). A running host is stopped cleanly
 * first; a killed one has nothing left to keep. Returns the paths that were kept.
 */
export async function labRebuild(name: string, opts: { keepPaths?: string[]; dir?: string; log?: Log } = {}): Promise<string[]> {
    const { dir, log, state, h } = await openHost(name, opts);
    const t = Date.now();
    const rootfs = (await ensureImage(labCacheDir(dir))).rootfs;
    if (!h.lost) await haltHost(dir, name, "stop", h.pid, log);
    const kept = resetHostFiles(dir, name, opts.keepPaths ?? []);
    if (!(await labNamespaces()).includes(h.netns)) {
        await createHostNetns(h.name, h.address);
        await assertIsolated(h.netns);
    }
    h.lost = false;
    await startHost(dir, rootfs, readFileSync(`${state.sshKey}.pub`, "utf8"), h, state.hosts);
    writeState(dir, state);
    await waitUp(dir, state.sshKey, [h]);
    log(`hosts: ${name} (${h.address}) rebuilt from the image${kept.length > 0 ? `, keeping ${kept.join(", ")}` : ""} (${seconds(t)})`);
    return kept;
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
    if (names.size === 0 && namespaces.length === 0 && !state && !existsSync(join(dir, "ssh")) && !existsSync(join(dir, "disks")) && !existsSync(cloudFile(dir))) {
        log(`down: nothing to remove (${seconds(t)})`);
        return;
    }

    const errors: string[] = [];
    await Promise.all(
        [...names].map(async (name) => {
            try {
                await haltHost(dir, name, "stop", state?.hosts.find((h) => h.name === name)?.pid, (line) => log(`down: ${line}`));
                if (namespaces.includes(hostNetns(name))) await deleteNetns(hostNetns(name));
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
    await destroyDisks(dir);
    // The lab's cloud account (cloud-store.ts) describes machines and disks that are gone now.
    rmSync(cloudFile(dir), { force: true });
    rmSync(join(dir, "hosts"), { recursive: true, force: true });
    rmSync(join(dir, "ssh"), { recursive: true, force: true });
    removeState(dir);
    log(`down: ${names.size} hosts stopped, namespaces, mounts and files removed (${seconds(t)})`);
}
