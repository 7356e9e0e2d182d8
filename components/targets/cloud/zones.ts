/**
 * Which zone each member goes to: round robin over the configured zones in their order, so no two members share a
 * zone while an unused zone remains, and adding a member never moves an existing one.
 */
export function spreadAcrossZones<T>(memberCount: number, zones: readonly T[]): T[] {
    if (zones.length === 0) throw new Error("at least one zone is needed");
    return Array.from({ length: memberCount }, (_, i) => zones[i % zones.length]);
}
