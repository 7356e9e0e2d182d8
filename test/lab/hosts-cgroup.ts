// A cgroup per host. systemd-nspawn --keep-unit splits its own cgroup into "payload" and "supervisor"; started
// side by side in one cgroup, every container would share one payload cgroup and their systemds would manage each
// other's units. Starting each nspawn in its own cgroup keeps them apart and tells teardown which processes are
// a host's.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { LAB_NAME } from "./lab-id";

const GROUP = LAB_NAME;

// Mount points of the hierarchies nspawn uses: the unified (v2) one and, on hybrid machines, the named v1
// "systemd" one.
function hierarchies(): string[] {
    const mounts: string[] = [];
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        const [pre, post] = line.split(" - ");
        if (!post) continue;
        const mountPoint = pre.split(" ")[4];
        const [fstype, , options] = post.split(" ");
        if (fstype === "cgroup2" || (fstype === "cgroup" && options.split(",").includes("name=systemd"))) mounts.push(mountPoint);
    }
    if (mounts.length === 0) throw new Error("no cgroup2 or name=systemd cgroup hierarchy is mounted");
    return mounts;
}

function hostDirs(name: string): string[] {
    return hierarchies().map((h) => join(h, GROUP, name));
}

// Returns the cgroup.procs files a process writes its PID into to join the host's cgroups.
export function createHostCgroups(name: string): string[] {
    return hostDirs(name).map((d) => {
        mkdirSync(d, { recursive: true });
        return join(d, "cgroup.procs");
    });
}

// Tolerates cgroups vanishing while it walks: a shutting-down container's systemd removes its own (a cgroup being
// removed answers ENODEV before it is gone, ENOENT after).
function readOrNothing<T>(read: () => T, nothing: T): T {
    try {
        return read();
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENODEV") return nothing;
        throw e;
    }
}

function childDirs(dir: string): string[] {
    return readOrNothing(() => readdirSync(dir, { withFileTypes: true }), []).filter((e) => e.isDirectory()).map((e) => e.name);
}

// `dir` and every cgroup below it, parents first.
function subtree(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return [dir, ...childDirs(dir).flatMap((c) => subtree(join(dir, c)))];
}

// Every process in the host's cgroups: the nspawn supervisor and all of the container.
export function hostCgroupPids(name: string): number[] {
    const pids = new Set<number>();
    for (const d of hostDirs(name).flatMap(subtree)) {
        for (const p of readOrNothing(() => readFileSync(join(d, "cgroup.procs"), "utf8"), "").split("\n")) if (p) pids.add(Number(p));
    }
    return [...pids];
}

// Hosts that have cgroups, including ones whose state file is gone.
export function labCgroupHosts(): string[] {
    return [...new Set(hierarchies().flatMap((h) => childDirs(join(h, GROUP))))];
}

// cgroupfs removes a cgroup with rmdir once it has no processes, children first.
export function removeHostCgroups(name: string): void {
    for (const d of hostDirs(name).flatMap(subtree).reverse()) rmdirSync(d);
}

export function removeLabCgroup(): void {
    for (const h of hierarchies()) {
        const d = join(h, GROUP);
        if (existsSync(d) && childDirs(d).length === 0) rmdirSync(d);
    }
}
