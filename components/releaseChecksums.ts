import { ETCD_RELEASE_SHA256, RELEASE_ARCHES, ReleaseArch } from "./etcdChecksums";

/** What a release tarball of one version must hash to, per architecture. */
export type ExpectedSha256 = Partial<Record<ReleaseArch, string>>;

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The checksums an install trusts: the user's `etcdSha256` when set (for every architecture: one tarball the user
 * vouched for), else the ones pinned in this program. Never anything served by the mirror itself.
 */
export function expectedSha256(version: string, userSha256?: string): ExpectedSha256 {
    if (userSha256) return Object.fromEntries(RELEASE_ARCHES.map((arch) => [arch, userSha256]));
    return { ...(ETCD_RELEASE_SHA256[version] ?? {}) };
}

/** The pinned versions per minor line, for error messages: "3.5.3–3.5.27, 3.6.14". */
export function pinnedSummary(): string {
    const lines = new Map<string, number[]>();
    for (const v of Object.keys(ETCD_RELEASE_SHA256)) {
        const [major, minor, patch] = v.split(".").map(Number);
        lines.set(`${major}.${minor}`, [...(lines.get(`${major}.${minor}`) ?? []), patch]);
    }
    return [...lines].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })).map(([line, patches]) => {
        const lo = Math.min(...patches);
        const hi = Math.max(...patches);
        return lo === hi ? `${line}.${lo}` : `${line}.${lo}–${line}.${hi}`;
    }).join(", ");
}
