import * as fs from "fs";
import * as path from "path";
import { sha256, sha256OfFile } from "../digest";
import { SHA256_HEX } from "../releaseChecksums";
import { ConfigReader, PROJECT } from "./reader";

/**
 * `restoreFrom` (a local etcd snapshot file, or `store:latest` / `store:<path>` for a snapshot in the backup store)
 * and `restoreId`: bring the cluster up from that snapshot. The restore is keyed by the snapshot's SHA-256 and the
 * id, so it happens once: the same pair again changes nothing, and restoring the same snapshot a second time takes a
 * new `restoreId`. A store snapshot's SHA-256 comes from the store's checksum file when the restore runs
 * (components/restore.ts), so its key is known only then.
 */

export interface FileRestore {
    kind: "file";
    /** Absolute path of the snapshot on the machine that runs the program. */
    path: string;
    sha256: string;
    id: string;
    /** Names this restore on the hosts and in the restored cluster: the snapshot's SHA-256 and the id together. */
    key: string;
}

export interface StoreRestore {
    kind: "store";
    /** `latest`, or the snapshot's path in the store as the backup reported it: `<stack>/<cluster token>/<tier>/<name>`. */
    snapshot: string;
    id: string;
}

export type RestoreSource = FileRestore | StoreRestore;

export const STORE_PREFIX = "store:";
/** A snapshot's path in the backup store, the same on every store (components/backup/backupScript.ts names them). */
export const STORE_SNAPSHOT_PATH = /^([A-Za-z0-9._-]+)\/(etcd-cluster-[A-Za-z0-9._-]+)\/(hourly|daily)\/([0-9]{8}T[0-9]{6}Z-rev[1-9][0-9]*\.db)$/;
const STORE_FORMS = "store:latest (the newest complete snapshot of this stack), or store:<stack>/<cluster token>/<hourly|daily>/<UTC time>-rev<revision>.db as the backup reports it (last-success file, backup log, store listing)";

export const RESTORE_KEYS = ["restoreFrom", "restoreId"] as const;

/** The checksum line a backup store keeps beside each snapshot (`<64 hex>  <file name>`, sha256sum's format). */
export function parseChecksumLine(text: string, fileName: string): string | undefined {
    const m = /^([0-9a-f]{64}) [ *](\S+)\s*$/.exec(text.trim());
    return m && m[2] === fileName ? m[1] : undefined;
}

export function restoreKey(snapshotSha256: string, id: string): string {
    return sha256(`${snapshotSha256}:${id}`).slice(0, 16);
}

/** A store snapshot request; the stack is checked by the caller that knows it (stack.ts). */
function readStoreRestore(r: ConfigReader, from: string, id: string): StoreRestore | undefined {
    const snapshot = from.slice(STORE_PREFIX.length);
    if (snapshot === "latest" || STORE_SNAPSHOT_PATH.test(snapshot)) return { kind: "store", snapshot, id };
    r.bad("restoreFrom", from, `allowed: ${STORE_FORMS}; a local file whose name starts with "store:" is written ./store:...`);
    return undefined;
}

/** The stack a store snapshot belongs to (undefined for `latest`, which is always this stack's). */
export function storeSnapshotStack(snapshot: string): string | undefined {
    return STORE_SNAPSHOT_PATH.exec(snapshot)?.[1];
}

export function readRestore(r: ConfigReader, opts: { cwd?: string } = {}): RestoreSource | undefined {
    const id = r.str("restoreId", "") ?? "";
    if (!/^[A-Za-z0-9._-]{0,64}$/.test(id)) r.bad("restoreId", id, "expected up to 64 letters, digits, '.', '_' or '-' (a date or a counter)");
    const from = r.str("restoreFrom");
    if (!from) {
        if (id) r.bad("restoreId", id, `it only means something with ${PROJECT}:restoreFrom set`);
        return undefined;
    }
    if (from.startsWith(STORE_PREFIX)) return readStoreRestore(r, from, id);
    const file = path.resolve(opts.cwd ?? process.cwd(), from);
    const exists = (p: string) => fs.existsSync(p) && fs.statSync(p).isFile();
    if (!exists(file)) {
        r.bad("restoreFrom", from, `${file} is not a file; expected the path of an etcd snapshot on this machine (from \`etcdctl snapshot save\` or fetched from the backup store, see the README)`);
        return undefined;
    }
    const digest = sha256OfFile(file);
    const checksumFile = `${file}.sha256`;
    if (exists(checksumFile)) {
        const expected = parseChecksumLine(fs.readFileSync(checksumFile, "utf8"), path.basename(file));
        if (!expected || !SHA256_HEX.test(expected)) {
            r.bad("restoreFrom", from, `${checksumFile} is not a checksum line for ${path.basename(file)} ("<64 hex digits>  ${path.basename(file)}")`);
            return undefined;
        }
        if (expected !== digest) {
            r.bad("restoreFrom", from, `its SHA-256 is ${digest}, but ${checksumFile} says ${expected}: the snapshot is corrupted or incomplete; nothing was changed. Fetch it again from the store`);
            return undefined;
        }
    }
    return { kind: "file", path: file, sha256: digest, id, key: restoreKey(digest, id) };
}
