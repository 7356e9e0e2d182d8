import * as net from "net";

/** Addresses, names and ports as they appear in stack config: parsed strictly and written one canonical way. */

const DNS_LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const DNS_NAME = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`, "i");

/** A DNS-1123 label, as member and client names are. */
export function isDnsLabel(value: string): boolean { return new RegExp(`^${DNS_LABEL}$`).test(value); }

export function isIp(value: string): boolean { return net.isIP(value) !== 0; }

/** A host name (no wildcard); a name whose last label is all digits would be read as an IPv4 address, so it is none. */
export function isDnsName(value: string): boolean {
    return value.length <= 253 && DNS_NAME.test(value) && !/(^|\.)\d+$/.test(value);
}

/**
 * Why `value` cannot be a name a member is reached by, or undefined when it can. Names are compared in lower case
 * (DNS is case-insensitive); localhost names reach only the client's own machine.
 */
export function unusableMemberDnsName(value: unknown): string | undefined {
    if (typeof value !== "string" || !isDnsName(value)) {
        return "expected a DNS name (RFC 1123: letters, digits and '-' in dot-separated labels of at most 63, no wildcard, no trailing dot)";
    }
    if (/(^|\.)localhost$/i.test(value)) return "a localhost name reaches only the client's own machine";
    return undefined;
}

/** One spelling per address (IPv6 compressed and lower case), so duplicates written two ways are caught. */
export function canonicalIp(value: string): string {
    if (net.isIPv4(value)) return value;
    if (!net.isIPv6(value)) throw new Error(`${value} is not an IP address`);
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
}

/**
 * Why `ip` cannot be a member's address (it must be one unicast address other members reach), or undefined when
 * it can: the unspecified address listens everywhere, loopback is unreachable from peers, and multicast, broadcast
 * and link-local addresses are not a host's own routable address.
 */
export function unusableMemberIp(ip: string): string | undefined {
    const c = canonicalIp(ip);
    if (c === "0.0.0.0" || c === "::") return "the unspecified address (listening everywhere) is not a member address";
    if (net.isIPv4(c)) {
        const [a, b] = c.split(".").map(Number);
        if (a === 127) return "loopback is not reachable from other members";
        if (a >= 224) return "multicast and reserved addresses are not a host address";
        if (a === 169 && b === 254) return "link-local addresses are not routable";
        return undefined;
    }
    if (c === "::1") return "loopback is not reachable from other members";
    if (/^ff/.test(c)) return "multicast addresses are not a host address";
    if (/^fe[89ab]/.test(c)) return "link-local addresses need a zone and are not routable";
    if (/^::ffff:/.test(c)) return "write IPv4-mapped addresses as plain IPv4";
    return undefined;
}

/** A TCP port 1-65535 as a number or plain decimal digits. */
export function parsePort(value: unknown): number | undefined {
    const n = typeof value === "number" ? value : typeof value === "string" && /^[1-9]\d{0,4}$/.test(value) ? Number(value) : NaN;
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}
