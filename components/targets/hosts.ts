import * as pulumi from "@pulumi/pulumi";
import { canonicalIp, isIp, parsePort, unusableMemberDnsName, unusableMemberIp } from "../config/net";
import { ConfigReader, PROJECT } from "../config/reader";
import { canonicalHostKey } from "../config/sshKeys";
import { Machine } from "./machine";

/** The `hosts` target: machines that already exist. It creates nothing; it only says how to reach them. */

export interface HostSpec {
    name: string;
    address: string;
    user: string;
    port: number;
    /** The host's SSH public key: every connection verifies it, so no one in the network path receives the keys sent. */
    hostKey: string;
    /** Block devices for etcd's data and WAL (stable paths such as /dev/disk/by-id/...). */
    dataDevice?: string; walDevice?: string;
    /** Names clients may reach the host by (lower case), besides its address. */
    dnsNames?: string[];
}
export interface HostsTarget { kind: "hosts"; hosts: HostSpec[] }

export const HOSTS_KEYS = ["hosts"] as const;
const HOST_FIELDS = ["name", "address", "user", "port", "hostKey", "dataDevice", "walDevice", "dnsNames"] as const;
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9._:+@\/-]*[A-Za-z0-9._:+@-]$/;
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function readHostsTarget(r: ConfigReader, cluster: { nodeCount?: number }): HostsTarget | undefined {
    const before = r.errors.length;
    const hosts: HostSpec[] = [];
    const rawHosts = r.list("hosts");
    if (rawHosts) {
        if (rawHosts.length === 0) r.missing("hosts", "the hosts target needs one entry { name, address, hostKey, user?, port?, dataDevice?, walDevice?, dnsNames? } per member");
        const names = new Set<string>();
        const addresses = new Set<string>();
        const dnsNames = new Map<string, { at: string; owner: unknown }>();
        rawHosts.forEach((h, i) => {
            const key = `hosts[${i}]`;
            if (typeof h !== "object" || h === null || Array.isArray(h)) { r.bad(key, h, "expected { name, address, hostKey, user?, port?, dataDevice?, walDevice?, dnsNames? }"); return; }
            const entry = h as Record<string, unknown>;
            let ok = r.knownKeys(key, entry, HOST_FIELDS);
            const { name, address, hostKey, user = "root", port = 22 } = entry;
            if (typeof name !== "string" || !LABEL.test(name)) { r.bad(`${key}.name`, name, "expected a DNS-1123 label: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit"); ok = false; }
            else if (names.has(name)) { r.bad(`${key}.name`, name, "host names must be unique"); ok = false; }
            let canonical: string | undefined;
            if (typeof address !== "string" || !isIp(address)) {
                r.bad(`${key}.address`, address, "expected the host's IPv4 or IPv6 address (etcd listens on IP addresses)"); ok = false;
            } else {
                canonical = canonicalIp(address);
                const unusable = unusableMemberIp(address);
                if (unusable) { r.bad(`${key}.address`, address, `${unusable}; expected the host's own unicast address`); ok = false; }
                else if (addresses.has(canonical)) { r.bad(`${key}.address`, address, `host addresses must be unique (${canonical} is listed twice)`); ok = false; }
            }
            if (typeof user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) { r.bad(`${key}.user`, user, "expected a login name"); ok = false; }
            const portNumber = parsePort(port);
            if (portNumber === undefined) { r.bad(`${key}.port`, port, "expected a port number 1-65535 in plain digits"); ok = false; }
            const hostKeyLine = canonicalHostKey(hostKey);
            if (!hostKeyLine) {
                r.bad(`${key}.hostKey`, hostKey ?? null, "expected the host's SSH public key as one line, e.g. `ssh-ed25519 AAAA...`: read it on the host's console " +
                    "(`cat /etc/ssh/ssh_host_ed25519_key.pub`) or take it from `ssh-keyscan -t ed25519 <address>` and compare its fingerprint (`ssh-keygen -lf`) with the console's");
                ok = false;
            }
            const devices = hostDevices(r, key, entry);
            if (!devices) ok = false;
            const advertised = hostDnsNames(r, key, entry, dnsNames);
            if (!advertised) ok = false;
            if (typeof name === "string") names.add(name);
            if (canonical) addresses.add(canonical);
            if (ok) hosts.push({ name: name as string, address: canonical!, user: user as string, port: portNumber!, hostKey: hostKeyLine!, ...devices, ...advertised });
        });
        for (const [dnsName, { at, owner }] of dnsNames) {
            if (names.has(dnsName) && dnsName !== owner) r.bad(at, dnsName, `it is the name of member ${dnsName}, which that member's certificate carries; give each host names of its own`);
        }
        if (cluster.nodeCount !== undefined && rawHosts.length > 0 && rawHosts.length !== cluster.nodeCount) {
            r.bad("nodeCount", cluster.nodeCount, `it must equal the number of entries in ${PROJECT}:hosts (${rawHosts.length})`);
        }
    }
    if (!r.secretsSet.has("sshPrivateKey")) r.missing("sshPrivateKey", "set it with `pulumi config set --secret sshPrivateKey < key`");
    return r.errors.length > before ? undefined : { kind: "hosts", hosts };
}

/**
 * A hosts entry's dnsNames, in lower case; undefined when one is bad. `seen` maps every name read so far to its key
 * and host: a name advertises one member, so no two hosts (and no host twice) may list it; a name for the whole
 * cluster (a load balancer, round-robin DNS) belongs in extraSans.
 */
function hostDnsNames(r: ConfigReader, key: string, entry: Record<string, unknown>, seen: Map<string, { at: string; owner: unknown }>): { dnsNames?: string[] } | undefined {
    const value = entry.dnsNames;
    if (value === undefined) return {};
    if (!Array.isArray(value)) { r.bad(`${key}.dnsNames`, value, "expected a list of DNS names that resolve to this host's address, e.g. [\"etcd-1.example.com\"]"); return undefined; }
    let ok = true;
    const dnsNames = value.map((n, j) => {
        const at = `${key}.dnsNames[${j}]`;
        const problem = unusableMemberDnsName(n);
        if (problem) { r.bad(at, n, problem); ok = false; return ""; }
        const lower = (n as string).toLowerCase();
        const first = seen.get(lower);
        if (first) { r.bad(at, n, `${lower} is also listed at ${first.at}; each name advertises one member (a name for the whole cluster belongs in extraSans)`); ok = false; }
        else seen.set(lower, { at, owner: entry.name });
        return lower;
    });
    return ok ? (dnsNames.length ? { dnsNames } : {}) : undefined;
}

/** A hosts entry's dataDevice and walDevice; undefined when one is bad. */
function hostDevices(r: ConfigReader, key: string, entry: Record<string, unknown>): { dataDevice?: string; walDevice?: string } | undefined {
    const devices: { dataDevice?: string; walDevice?: string } = {};
    let ok = true;
    for (const field of ["dataDevice", "walDevice"] as const) {
        const device = entry[field];
        if (device === undefined) continue;
        if (typeof device !== "string" || !DEVICE_PATH.test(device) || device.split("/").includes("..")) {
            r.bad(`${key}.${field}`, device, "expected the path of a block device under /dev, preferably a stable one such as /dev/disk/by-id/...");
            ok = false;
        } else if (device === devices.dataDevice) {
            r.bad(`${key}.${field}`, device, "it is also this host's dataDevice; data and WAL need devices of their own");
            ok = false;
        } else {
            devices[field] = device;
            if (!device.startsWith("/dev/disk/")) r.warnings.push(`${PROJECT}:${key}.${field}: ${device} is a kernel name that may name another disk after a reboot; prefer a /dev/disk/by-id/ path (a device is always checked before use, and fstab names its filesystem's UUID)`);
        }
    }
    return ok ? devices : undefined;
}

export function hostMachines(target: HostsTarget, sshPrivateKey: pulumi.Input<string>): Machine[] {
    return target.hosts.map((h) => ({
        name: h.name,
        address: h.address,
        dnsNames: h.dnsNames,
        user: h.user,
        connection: { host: h.address, port: h.port, user: h.user, privateKey: sshPrivateKey, hostKey: h.hostKey, dialErrorLimit: 10, perDialTimeout: 15 },
        // A rebuilt host has a new host key: every step runs again on it.
        identity: `${h.user}@${h.address}:${h.port} ${h.hostKey}`,
        dataDevice: h.dataDevice,
        walDevice: h.walDevice,
    }));
}
