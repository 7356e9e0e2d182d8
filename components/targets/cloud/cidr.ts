import * as net from "net";
import { ConfigReader } from "../../config/reader";

/** A CIDR block as firewalls take it: an address with its prefix length, no host bits set. */
export function parseCidr(value: unknown): { cidr: string; prefix: number; ipv6: boolean } | undefined {
    if (typeof value !== "string") return undefined;
    const m = /^([^/\s]+)\/(\d{1,3})$/.exec(value);
    if (!m || !net.isIP(m[1])) return undefined;
    const ipv6 = net.isIPv6(m[1]);
    const prefix = Number(m[2]);
    if (prefix > (ipv6 ? 128 : 32)) return undefined;
    const bits = addressBits(m[1]);
    if (bits.slice(prefix).includes("1")) return undefined;
    return { cidr: value, prefix, ipv6 };
}

function addressBits(ip: string): string {
    if (net.isIPv4(ip)) return ip.split(".").map((o) => Number(o).toString(2).padStart(8, "0")).join("");
    const full = new net.SocketAddress({ address: ip, family: "ipv6" }).address;
    const [head, tail = ""] = full.split("::");
    const groups = (s: string) => (s ? s.split(":") : []);
    const missing = 8 - groups(head).length - groups(tail).length;
    return [...groups(head), ...Array(full.includes("::") ? missing : 0).fill("0"), ...groups(tail)]
        .map((g) => parseInt(g, 16).toString(2).padStart(16, "0")).join("");
}

/**
 * Reads a list of CIDR blocks at `key`; refuses any that is not one, and the whole internet (a /0), since `what` is
 * never opened to everyone. `ipv4Only` says why an IPv6 block is refused where members have IPv4 addresses only.
 */
export function readCidrList(r: ConfigReader, key: string, list: unknown, what: string, ipv4Only?: string): string[] {
    const value = list ?? [];
    if (!Array.isArray(value)) { r.bad(key, value, "expected a list of CIDR blocks"); return []; }
    return value.filter((c, i) => {
        const parsed = parseCidr(c);
        if (!parsed) { r.bad(`${key}[${i}]`, c, "expected a CIDR block such as 10.0.0.0/16 (no host bits set)"); return false; }
        if (parsed.prefix === 0) { r.bad(`${key}[${i}]`, c, `${what} is never opened to the whole internet; allowed: the networks that need it`); return false; }
        if (parsed.ipv6 && ipv4Only) { r.bad(`${key}[${i}]`, c, ipv4Only); return false; }
        return true;
    }) as string[];
}
