import { canonicalIp, isIp, parsePort } from "../config/net";
import { ConfigReader, parseWholeNumber } from "../config/reader";
import { canonicalHostKey } from "../config/sshKeys";
import { OutboundPort } from "../targets/machine";

/**
 * The `backup` key: `{ schedule?, retention?: { hourly?, daily? }, store? }`. Absent or empty: no backups. The store
 * follows the target: a directory on a backup host over SSH for `hosts` (`store: { host: {...}, directory }`), an S3
 * bucket the program creates for `aws`, a GCS bucket for `gcp`.
 */

export const BACKUP_FIELDS = ["schedule", "retention", "store"] as const;
const RETENTION_FIELDS = ["hourly", "daily"] as const;
const STORE_FIELDS = ["host", "directory"] as const;
const STORE_HOST_FIELDS = ["address", "hostKey", "user", "port"] as const;

export const BACKUP_DEFAULTS = { schedule: "hourly", retention: { hourly: 24, daily: 7 } } as const;

export interface BackupSchedule {
    /** As configured: hourly, daily, every <N>m, every <N>h. */
    text: string;
    /** systemd OnCalendar= expression: every member's timer fires at the same instants. */
    onCalendar: string;
    intervalSeconds: number;
}

export interface BackupHost { address: string; hostKey: string; user: string; port: number }

export type BackupStoreSpec =
    | { kind: "host"; host: BackupHost; directory: string }
    | { kind: "s3" }
    | { kind: "gcs" };

export interface BackupSettings {
    schedule: BackupSchedule;
    /** Most recent scheduled backups kept, and most recent daily ones. */
    retention: { hourly: number; daily: number };
    store: BackupStoreSpec;
}

/**
 * What members must reach to store backups (clouds open egress to these ports only): the backup host's SSH port, or
 * HTTPS to the cloud's bucket.
 */
export function backupOutboundPorts(backup: BackupSettings | undefined): OutboundPort[] {
    if (!backup) return [];
    const store = backup.store;
    if (store.kind === "host") return [{ port: store.host.port, purpose: "backups to the backup host" }];
    return [{ port: 443, purpose: `backups to ${store.kind === "s3" ? "S3" : "GCS"}` }];
}

const MINUTE_STEPS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
const HOUR_STEPS = [1, 2, 3, 4, 6, 8, 12];
const SCHEDULES = `hourly, daily, "every <N>m" (N one of ${MINUTE_STEPS.join(", ")}) or "every <N>h" (N one of ${HOUR_STEPS.join(", ")})`;

/**
 * Only intervals that divide an hour or a day: every run then starts at the same wall-clock instants on every member
 * (so only one acts, see backupScript.ts), and the interval is known, which the age alert needs.
 */
export function parseSchedule(text: string): BackupSchedule | undefined {
    if (text === "hourly") return { text, onCalendar: "*-*-* *:00:00", intervalSeconds: 3600 };
    if (text === "daily") return { text, onCalendar: "*-*-* 00:00:00", intervalSeconds: 86400 };
    const m = /^every ([1-9]\d?)(m|h)$/.exec(text);
    if (!m) return undefined;
    const n = Number(m[1]);
    if (m[2] === "m" && MINUTE_STEPS.includes(n)) return { text, onCalendar: `*-*-* *:00/${n}:00`, intervalSeconds: n * 60 };
    if (m[2] === "h" && HOUR_STEPS.includes(n)) return { text, onCalendar: `*-*-* 00/${n}:00:00`, intervalSeconds: n * 3600 };
    return undefined;
}

/** How old the newest backup may get before the age alert fires: one missed run, plus ten minutes to take it. */
export function maxBackupAgeSeconds(schedule: BackupSchedule): number {
    return 2 * schedule.intervalSeconds + 600;
}

export function readBackup(r: ConfigReader, target: string | undefined): BackupSettings | undefined {
    const before = r.errors.length;
    const o = r.object("backup", BACKUP_FIELDS);
    if (!o || Object.keys(o).length === 0) return undefined;
    const scheduleText = o.schedule ?? BACKUP_DEFAULTS.schedule;
    const schedule = typeof scheduleText === "string" ? parseSchedule(scheduleText.trim()) : undefined;
    if (!schedule) r.bad("backup.schedule", scheduleText, `allowed: ${SCHEDULES}`);

    const retention: { hourly: number; daily: number } = { ...BACKUP_DEFAULTS.retention };
    if (o.retention !== undefined) {
        if (typeof o.retention !== "object" || o.retention === null || Array.isArray(o.retention)) {
            r.bad("backup.retention", o.retention, "expected { hourly?, daily? }: how many of the most recent scheduled and daily backups the store keeps");
        } else if (r.knownKeys("backup.retention", o.retention as Record<string, unknown>, RETENTION_FIELDS)) {
            for (const [tier, value] of Object.entries(o.retention as Record<string, unknown>)) {
                const n = parseWholeNumber(value);
                const min = tier === "hourly" ? 1 : 0;
                if (n === undefined || n < min || n > 10000) r.bad(`backup.retention.${tier}`, value, `allowed: a whole number ${min}-10000`);
                else retention[tier as "hourly" | "daily"] = n;
            }
        }
    }

    const store = readStore(r, o.store, target);
    if (r.errors.length > before || !schedule || !store) return undefined;
    return { schedule, retention, store };
}

function readStore(r: ConfigReader, raw: unknown, target: string | undefined): BackupStoreSpec | undefined {
    if (target === "aws" || target === "gcp") {
        const bucket = target === "aws" ? "an S3 bucket" : "a GCS bucket";
        if (raw !== undefined) { r.bad("backup.store", raw, `with target ${target} the store is ${bucket} the program creates; remove backup.store`); return undefined; }
        return { kind: target === "aws" ? "s3" : "gcs" };
    }
    const shape = "{ host: { address, hostKey, user?, port? }, directory }";
    if (raw === undefined) { r.missing("backup.store", `with target hosts backups go to a directory on a backup host over SSH: ${shape}`); return undefined; }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) { r.bad("backup.store", raw, `expected ${shape}`); return undefined; }
    const s = raw as Record<string, unknown>;
    if (!r.knownKeys("backup.store", s, STORE_FIELDS)) return undefined;
    let ok = true;
    const directory = s.directory;
    if (typeof directory !== "string" || !/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/.test(directory) || directory.split("/").some((p) => p === ".." || p === ".")) {
        r.bad("backup.store.directory", directory ?? null, "expected an absolute path on the backup host of letters, digits, '.', '_', '-' and '/', such as /srv/etcd-backups");
        ok = false;
    } else if (["/", "/etc", "/usr", "/var", "/root", "/home", "/tmp", "/srv", "/boot", "/opt", "/bin", "/lib"].includes(directory.replace(/\/+$/, ""))) {
        r.bad("backup.store.directory", directory, "a system directory cannot be the store; allowed: a directory of its own such as /srv/etcd-backups");
        ok = false;
    }
    const h = s.host;
    if (typeof h !== "object" || h === null || Array.isArray(h)) {
        r.bad("backup.store.host", h ?? null, "expected { address, hostKey, user?, port? }: the backup host, reached over SSH with the stack's sshPrivateKey");
        return undefined;
    }
    const host = h as Record<string, unknown>;
    if (!r.knownKeys("backup.store.host", host, STORE_HOST_FIELDS)) return undefined;
    const { address, hostKey, user = "root", port = 22 } = host;
    if (typeof address !== "string" || !isIp(address)) { r.bad("backup.store.host.address", address ?? null, "expected the backup host's IPv4 or IPv6 address"); ok = false; }
    const hostKeyLine = canonicalHostKey(hostKey);
    if (!hostKeyLine) {
        r.bad("backup.store.host.hostKey", hostKey ?? null, "expected the backup host's SSH public key as one line, e.g. `ssh-ed25519 AAAA...` (every connection to it is verified against it)");
        ok = false;
    }
    if (typeof user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) { r.bad("backup.store.host.user", user, "expected a login name (root, or a user with passwordless sudo)"); ok = false; }
    const portNumber = parsePort(port);
    if (portNumber === undefined) { r.bad("backup.store.host.port", port, "expected a port number 1-65535 in plain digits"); ok = false; }
    if (!ok) return undefined;
    return {
        kind: "host",
        host: { address: canonicalIp(address as string), hostKey: hostKeyLine!, user: user as string, port: portNumber! },
        directory: (directory as string).replace(/\/+$/, ""),
    };
}

/** Where a backup host store is, for outputs and messages. */
export function hostStoreDescription(host: BackupHost, directory: string): string {
    return `${host.user}@${host.address}:${directory} (SSH port ${host.port})`;
}
