import { isIp } from "./config";

/** Pure planning: everything about a member that follows from its name and address. */

export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;
export const METRICS_URL = "http://127.0.0.1:2381";

export interface MemberPlan {
    name: string;
    address: string;
    /** Names clients may also reach the member by: advertised and in its server certificate, never listened on. */
    dnsNames: string[];
    clientUrl: string;
    peerUrl: string;
}

/** Brackets IPv6 literals for use in URLs. */
export function urlHost(address: string): string {
    return address.includes(":") ? `[${address}]` : address;
}

export function planMember(name: string, address: string, dnsNames: string[] = []): MemberPlan {
    return {
        name,
        address,
        dnsNames,
        clientUrl: `https://${urlHost(address)}:${CLIENT_PORT}`,
        peerUrl: `https://${urlHost(address)}:${PEER_PORT}`,
    };
}

/**
 * What the member advertises to clients: its address first, then its names. Peer URLs stay on the address: etcd
 * keeps them in the membership (changing one takes `member update`) and resolves them when it bootstraps.
 */
export function advertisedClientUrls(member: MemberPlan): string[] {
    return [member.clientUrl, ...member.dnsNames.map((n) => `https://${n}:${CLIENT_PORT}`)];
}

/** `--initial-cluster`: every member's name and peer URL, in member order. */
export function initialCluster(members: MemberPlan[]): string {
    return members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
}

/** A token unique to this cluster, so members of another cluster can never join it by mistake. */
export function clusterToken(stack: string, caFingerprint: string): string {
    return `etcd-cluster-${stack}-${caFingerprint.replace(/[^A-Za-z0-9]/g, "").slice(-16).toLowerCase()}`;
}

export interface Sans { dnsNames: string[]; ipAddresses: string[] }

/** SANs of a member certificate: its own name and address only (so other members never need re-issuing), loopback, and extras. */
export function memberSans(member: { name: string; address: string }, extraSans: string[]): Sans {
    const all = [member.name, member.address, "localhost", "127.0.0.1", "::1", ...extraSans];
    const unique = [...new Set(all)];
    return {
        dnsNames: unique.filter((s) => !isIp(s)),
        ipAddresses: unique.filter((s) => isIp(s)),
    };
}

/** Order in which members apply changes: one at a time, in configured order. */
export function restartOrder<T extends { name: string }>(members: T[]): Array<{ member: T; after?: T }> {
    return members.map((member, i) => ({ member, after: i > 0 ? members[i - 1] : undefined }));
}
