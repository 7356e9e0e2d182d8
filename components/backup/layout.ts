import { CONFIG_DIR, STATE_DIR } from "../layout";

/** Where backups live on a member host, and on a backup host (store `host`). */

export const BACKUP = {
    dir: `${CONFIG_DIR}/backup`,
    script: `${CONFIG_DIR}/backup/backup.sh`,
    /** The member's SSH key for the backup host: it can only hand over snapshots (see hostStore.ts). */
    sshKey: `${CONFIG_DIR}/backup/id_store`,
    knownHosts: `${CONFIG_DIR}/backup/known_hosts`,
    service: "/etc/systemd/system/etcd-backup.service",
    timer: "/etc/systemd/system/etcd-backup.timer",
    serviceUnit: "etcd-backup.service",
    timerUnit: "etcd-backup.timer",
    stateDir: `${STATE_DIR}/backup`,
    /** One line, rewritten after every successful backup this member took: `<UTC time> <store path> revision=<n> sha256=<hex>`. */
    lastSuccess: `${STATE_DIR}/backup/last-success`,
    /** When backups were first set up on this member (seconds since the epoch): the age alert's start before any backup. */
    configuredAt: `${STATE_DIR}/backup/configured-at`,
} as const;

/** node_exporter's textfile collector directory as Debian's prometheus-node-exporter package sets it. */
export const TEXTFILE_DIR = "/var/lib/prometheus/node-exporter";
export const BACKUP_METRICS = `${TEXTFILE_DIR}/etcd_backup.prom`;
export const CERTIFICATE_METRICS = `${TEXTFILE_DIR}/etcd_certificates.prom`;

/** On a backup host: the user that owns the store, and the only command members' key may run. */
export const STORE_HOST = {
    user: "etcd-backup",
    home: "/var/lib/etcd-backup",
    receiver: "/usr/local/lib/etcd-cluster/backup-receive",
} as const;
