import { isDnsLabel } from "./config/net";
import { sha256 } from "./digest";

/**
 * Named clients (`etcd-cluster:clientCertificates`) and what etcd's authentication grants them. Pure: tests call
 * these directly, and the auth step (scripts/auth.ts) converges the cluster to `authPlan`'s result.
 */

export const ADMIN_USER = "root";
/** Key prefix a client may read and write when its entry names none: kube-apiserver's default `--etcd-prefix`. */
export const DEFAULT_CLIENT_PREFIX = "/registry/";
/** Roles this program owns start with this; users holding one are this program's too (and removed with their client). */
export const MANAGED_ROLE_PREFIX = "etcd-cluster-";
/** Marker role of members' own users; it grants nothing itself. */
export const MEMBER_ROLE = `${MANAGED_ROLE_PREFIX}member`;

export interface ClientSpec {
    /** Also the etcd user name, and the certificate's CN unless the client is a gateway client. */
    name: string;
    /** The only keys the client may read and write: every key that starts with it. */
    prefix: string;
    /** Speaks etcd's JSON gateway: etcd ignores a certificate's CN there, so it gets a CN-less certificate and a password. */
    gateway: boolean;
}

// A trailing '/' keeps `/registry/` from also granting `/registry-backup/...`; the characters need no quoting anywhere.
const PREFIX = /^\/([A-Za-z0-9._-]+\/)+$/;
const ENTRY = "a name (DNS-1123 label) or { name, prefix?, gateway? }";

type Bad = (key: string, value: unknown, allowed: string) => void;

/**
 * Reads `clientCertificates` entries: a string is `{ name, prefix: "/registry/", gateway: false }`. `bad` reports a
 * problem under its config key; a name may not be `root`, which is the admin.
 */
export function parseClients(entries: unknown[], bad: Bad): ClientSpec[] {
    const clients: ClientSpec[] = [];
    entries.forEach((entry, i) => {
        const key = `clientCertificates[${i}]`;
        const fields = typeof entry === "string" ? { name: entry } : entry;
        if (typeof fields !== "object" || fields === null || Array.isArray(fields)) { bad(key, entry, `expected ${ENTRY}`); return; }
        const { name, prefix = DEFAULT_CLIENT_PREFIX, gateway = false, ...unknown } = fields as Record<string, unknown>;
        const extra = Object.keys(unknown);
        if (extra.length) { bad(key, entry, `unknown field ${extra.join(", ")}; expected ${ENTRY}`); return; }
        const at = typeof entry === "string" ? key : `${key}.name`;
        if (typeof name !== "string" || !isDnsLabel(name)) { bad(at, name, "expected a DNS-1123 label naming a consumer (e.g. kube-apiserver)"); return; }
        if (name === ADMIN_USER) { bad(at, name, "'root' is the admin certificate; name consumers after what they are"); return; }
        if (clients.some((c) => c.name === name)) { bad(at, name, "client names must be unique"); return; }
        if (typeof prefix !== "string" || !PREFIX.test(prefix)) {
            bad(`${key}.prefix`, prefix, "expected a key prefix that starts and ends with '/' (e.g. /registry/ or /service/), of letters, digits, '.', '_', '-'");
            return;
        }
        const isGateway = gateway === true || gateway === "true" ? true : gateway === false || gateway === "false" ? false : undefined;
        if (isGateway === undefined) { bad(`${key}.gateway`, gateway, "expected true or false"); return; }
        clients.push({ name, prefix, gateway: isGateway });
    });
    return clients;
}

/** A role of this program: read and write on `prefix`, or (members' marker role) nothing. */
/** A client may not share a member's name: members' certificates carry it as CN and its user has the root role. */
export function clientNameProblems(clients: ClientSpec[], memberNames: string[], bad: Bad): void {
    clients.forEach((c, i) => {
        if (memberNames.includes(c.name)) bad(`clientCertificates[${i}]`, c.name, "a member has this name and its own etcd user; name consumers after what they are");
    });
}

export interface RolePlan { name: string; prefix?: string }
export interface UserPlan { name: string; roles: string[]; password: boolean }
export interface AuthPlan { roles: RolePlan[]; users: UserPlan[] }

export function clientRole(client: string): string {
    return `${MANAGED_ROLE_PREFIX}client-${client}`;
}

/**
 * Who may do what once authentication is on. `root` (the admin certificate's CN) has etcd's root role. Each member's
 * certificates carry the member's name as CN: its user has the root role too, because etcd serves endpoint status,
 * membership changes and user management to the root role only, and the member's key sits beside a copy of all the
 * data on its host anyway. Each client gets a user of its name with a role that reads and writes its prefix only.
 */
export function authPlan(memberNames: string[], clients: ClientSpec[]): AuthPlan {
    return {
        roles: [{ name: MEMBER_ROLE }, ...clients.map((c) => ({ name: clientRole(c.name), prefix: c.prefix }))],
        users: [
            { name: ADMIN_USER, roles: ["root"], password: false },
            ...memberNames.map((name) => ({ name, roles: ["root", MEMBER_ROLE], password: false })),
            ...clients.map((c) => ({ name: c.name, roles: [clientRole(c.name)], password: c.gateway })),
        ],
    };
}

/** etcd's end of a prefix range: the prefix with its last byte incremented (`/registry/` → `/registry0`). */
export function prefixRangeEnd(prefix: string): string {
    return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * A gateway client's password, derived from a private key the tls provider generated for this purpose alone: the
 * engine keeps that key in its state (secret), so the password is the same on every run, and it changes only when
 * that key is replaced. A hash, so the password reveals nothing of the key; 256 bits as hex, well inside bcrypt's 72 bytes.
 */
export function gatewayPassword(seedPrivateKeyPem: string): string {
    return sha256(`etcd-cluster gateway password\n${seedPrivateKeyPem}`);
}
