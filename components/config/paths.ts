import * as path from "path";

/**
 * Directories etcd may own. configure makes dataDir and walDir 700 etcd:etcd and the unit makes them writable, so
 * a system directory there would hand it to the etcd user; trees the unit hides or that do not survive a reboot
 * would break etcd.
 */

/** Neither dataDir nor walDir may be one of these or lie inside one. */
export const FORBIDDEN_TREES = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys", "/tmp",
    "/usr", "/var/tmp", "/var/run", "/var/lock",
    // ProtectHome= makes these invisible to etcd.
    "/home", "/root",
    // This program's own: binaries, state.
    "/opt/etcd", "/var/lib/etcd-cluster",
] as const;

/** Nor may they be one of these (or hold them: a directory is never a parent of a system one). */
export const SYSTEM_DIRS = ["/", "/var", "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/mail", "/opt", "/srv", "/mnt", "/media", "/snap"] as const;

/** Why `dir` cannot be etcd's data or WAL directory, or undefined when it can. */
export function unusableEtcdDir(dir: string): string | undefined {
    if (!dir.startsWith("/")) return "expected an absolute path";
    if (!/^[A-Za-z0-9._/-]+$/.test(dir)) return "expected a path of letters, digits, '.', '_', '-' and '/'";
    if (dir === "/") return "/ is or contains the system directory /";
    const parts = dir.split("/").slice(1);
    if (parts.some((p) => p === "" || p === "." || p === "..")) return "expected a normal path: no empty, '.' or '..' components and no trailing '/'";
    const system = [...SYSTEM_DIRS, ...FORBIDDEN_TREES].find((s) => s === dir || isInside(s, dir));
    if (system) return `${dir} is or contains the system directory ${system}`;
    const tree = FORBIDDEN_TREES.find((t) => isInside(dir, t));
    if (tree) return `${dir} is inside ${tree}, which etcd must not own`;
    return undefined;
}

/** True when `inner` lies strictly below `outer`. */
export function isInside(inner: string, outer: string): boolean {
    const rel = path.posix.relative(outer, inner);
    return rel !== "" && !rel.startsWith("..") && !path.posix.isAbsolute(rel);
}
