import { canonicalHostKey } from "../../config/sshKeys";
import { parsePort } from "../../config/net";
import { ConfigReader } from "../../config/reader";
import { LOGIN_NAME } from "./loginName";

/**
 * A bastion every connection to the members goes through: its address, its verified host key, its login, and what
 * the cloud's firewall admits SSH from (an AWS security group, a GCP network tag).
 */
export interface Bastion { host: string; port: number; user: string; hostKey: string; source: string }

export interface BastionSource {
    /** The key of the field naming what members accept SSH from (securityGroup, tag). */
    field: string;
    valid: (value: unknown) => boolean;
    /** What the field holds, for the error message. */
    expected: string;
    defaultUser: string;
}

/** Reads `<cloud>.bastion`; records every problem and returns undefined unless it is complete. */
export function readBastion(r: ConfigReader, key: string, raw: unknown, source: BastionSource): Bastion | undefined {
    const fields = ["host", "port", "user", "hostKey", source.field];
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        r.bad(key, raw, `expected { host, hostKey, ${source.field}, user?, port? }`);
        return undefined;
    }
    const b = raw as Record<string, unknown>;
    if (!r.knownKeys(key, b, fields)) return undefined;
    const { host, hostKey, user = source.defaultUser, port = 22 } = b;
    const line = canonicalHostKey(hostKey);
    const portNumber = parsePort(port);
    let ok = true;
    if (typeof host !== "string" || !/^[A-Za-z0-9.:-]+$/.test(host)) { r.bad(`${key}.host`, host ?? null, "expected the bastion's address or DNS name as this machine reaches it"); ok = false; }
    if (!line) { r.bad(`${key}.hostKey`, hostKey ?? null, "expected the bastion's SSH public key line (ssh-ed25519 AAAA...), checked on every connection"); ok = false; }
    if (!source.valid(b[source.field])) { r.bad(`${key}.${source.field}`, b[source.field] ?? null, `expected ${source.expected}: members accept SSH from it`); ok = false; }
    if (typeof user !== "string" || !LOGIN_NAME.test(user)) { r.bad(`${key}.user`, user, "expected a login name"); ok = false; }
    if (portNumber === undefined) { r.bad(`${key}.port`, port, "expected a port number 1-65535"); ok = false; }
    if (!r.secretsSet.has("sshPrivateKey")) { r.missing("sshPrivateKey", `the key that logs in to the bastion (${key}); set it with \`pulumi config set --secret sshPrivateKey < key\``); ok = false; }
    return ok ? { host: host as string, hostKey: line!, source: b[source.field] as string, user: user as string, port: portNumber! } : undefined;
}
