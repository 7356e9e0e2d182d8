/** Where things live on every member host. One place, so scripts, unit and environment agree. */

export const CONFIG_DIR = "/etc/etcd";
export const PKI_DIR = `${CONFIG_DIR}/pki`;
export const ENV_FILE = `${CONFIG_DIR}/etcd.env`;
/** Settings etcd reads only when it bootstraps; kept apart so changing them never restarts a member. */
export const BOOTSTRAP_ENV_FILE = `${CONFIG_DIR}/bootstrap.env`;
export const UNIT_FILE = "/etc/systemd/system/etcd.service";
export const STATE_DIR = "/var/lib/etcd-cluster";
/** Hash of the configuration the running etcd was started with. */
export const APPLIED_STAMP = `${STATE_DIR}/applied.sha256`;
/** Figures of the preflight checks, written when they passed before etcd first started on this machine. */
export const PREFLIGHT_RECORD = `${STATE_DIR}/preflight.json`;
/** What the CA this member trusts was made from (key algorithm, stack, validity), for the preflight to compare. */
export const CA_RECIPE = `${STATE_DIR}/ca-recipe`;
export const UPLOAD_DIR = "/var/tmp";

export const PKI = {
    ca: `${PKI_DIR}/ca.crt`,
    serverCert: `${PKI_DIR}/server.crt`,
    serverKey: `${PKI_DIR}/server.key`,
    peerCert: `${PKI_DIR}/peer.crt`,
    peerKey: `${PKI_DIR}/peer.key`,
    /** The peer port trusts this CA alone, which signs nothing but member peer certificates. */
    peerCa: `${PKI_DIR}/peer-ca.crt`,
} as const;

/**
 * etcd creates its WAL as `<dir>.tmp` and renames it, so the WAL must sit one level below a directory etcd owns:
 * the configured walDir (a mount point on clouds) holds it as `wal/`.
 */
export function walPath(walDir: string): string {
    return `${walDir}/wal`;
}

export function installDir(version: string): string {
    return `/opt/etcd/v${version}`;
}

export function binary(version: string, tool: "etcd" | "etcdctl" | "etcdutl"): string {
    return `${installDir(version)}/${tool}`;
}
