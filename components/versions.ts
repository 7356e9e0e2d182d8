/** etcd release policy: which versions we refuse, which we warn about, and which flags each line needs. */

export interface EtcdVersion { major: number; minor: number; patch: number; text: string }

/** Newest patch releases carrying security fixes, per supported minor line (late 2026). */
export const SECURITY_PATCHES: Record<string, string> = { "3.5": "3.5.33", "3.6": "3.6.14", "3.7": "3.7.1" };
export const DEFAULT_ETCD_VERSION = "3.6.14";
/**
 * The oldest patch of a minor line that may move to the next minor line, per etcd's upgrade guides
 * (etcd.io/docs/v3.7/upgrades/upgrade_3_6 and upgrade_3_7, September 2026): 3.5.32 before 3.6 (3.5.24-3.5.26 fix
 * upgrade blockers, 3.5.32 the v2 store check), 3.6.11 before 3.7.
 */
export const MINIMUM_BEFORE_NEXT_MINOR: Record<string, string> = { "3.5": "3.5.32", "3.6": "3.6.11" };

export function parseVersion(text: string): EtcdVersion | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
    return m ? { major: +m[1], minor: +m[2], patch: +m[3], text } : undefined;
}

function compare(a: EtcdVersion, b: EtcdVersion): number {
    return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Returns an error (refused) or warnings for a requested etcd version. */
export function checkVersion(text: string): { error?: string; warnings: string[] } {
    const v = parseVersion(text);
    if (!v) return { error: `must be a release version like ${DEFAULT_ETCD_VERSION} (digits only, no "v")`, warnings: [] };
    if (v.major !== 3 || v.minor < 5) {
        return { error: `${text} is end of life or unsupported; use 3.5.3 or later (3.6.x recommended)`, warnings: [] };
    }
    if (v.minor === 5 && v.patch <= 2) {
        return { error: `${text} has a known data-inconsistency bug (3.5.0–3.5.2); use ${SECURITY_PATCHES["3.5"]} or later`, warnings: [] };
    }
    const line = `${v.major}.${v.minor}`;
    const secure = SECURITY_PATCHES[line];
    if (!secure) return { warnings: [`etcdVersion ${text} is newer than the releases this program knows (${Object.values(SECURITY_PATCHES).join(", ")}); it is untested`] };
    if (compare(v, parseVersion(secure)!) < 0) {
        return { warnings: [`etcdVersion ${text} lacks security fixes released in ${secure}; upgrade to ${secure} or later`] };
    }
    return { warnings: [] };
}

/** The environment entries that turn on etcd's data-corruption checks; their names changed in 3.6. */
export function corruptionCheckEnvironment(version: string): Record<string, string> {
    const v = parseVersion(version);
    if (!v) throw new Error(`invalid etcd version ${version}`);
    if (v.minor === 5) {
        return {
            ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: "true",
            ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED: "true",
        };
    }
    return { ETCD_FEATURE_GATES: "InitialCorruptCheck=true,CompactHashCheck=true" };
}
