// Several labs can run side by side on one machine (one per work tree): ETCD_LAB_ID=N (0-63, default 0) gives a lab
// namespace, bridge, cgroup, machine names and subnet of its own. ETCD_LAB_CACHE names a cache directory (image,
// etcd archives) that several labs share, so each does not build its own image.
import { join, resolve } from "node:path";

function labId(): number {
    const raw = process.env.ETCD_LAB_ID ?? "0";
    const id = Number(raw);
    if (!/^\d+$/.test(raw) || id > 63) throw new Error(`ETCD_LAB_ID=${raw}: expected a whole number 0-63`);
    return id;
}

export const LAB_ID = labId();
/** Prefix of everything the lab names on the machine: namespaces, bridge, cgroup, containers. */
export const LAB_NAME = LAB_ID === 0 ? "etcdlab" : `etcdlab${LAB_ID}`;
/** The lab's /24: 10.88.<id>.0. */
export const SUBNET_PREFIX = `10.88.${LAB_ID}`;

export function labCacheDir(labDir: string): string {
    return process.env.ETCD_LAB_CACHE ?? join(labDir, "cache");
}

/** The lab's working directory: `.lab` in the repository (`.lab<id>` for another lab id). */
export function labDir(): string {
    return resolve(__dirname, "..", "..", LAB_ID === 0 ? ".lab" : `.lab${LAB_ID}`);
}
