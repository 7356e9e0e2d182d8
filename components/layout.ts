/** Where things live on every member host. One place, so scripts, unit and environment agree. */

export const CONFIG_DIR = "/etc/etcd";
/**
 * Every configuration (environment, unit, certificates and keys, a link to the etcd binary) is staged in a directory
 * of its own, named after its digest; `current` links to the one etcd runs with. The apply step switches the link
 * (one atomic rename) only when its gate allows a restart, so a certificate never meets another configuration's key
 * and an unplanned restart never picks up files the gate refused.
 */
export const RELEASES_DIR = `${CONFIG_DIR}/releases`;
export const CURRENT_LINK = `${CONFIG_DIR}/current`;
/** Settings etcd reads only when its data dir is empty; written by the apply step right before a member's first start. */
export const BOOTSTRAP_ENV_FILE = `${CONFIG_DIR}/bootstrap.env`;
export const UNIT_FILE = "/etc/systemd/system/etcd.service";
export const STATE_DIR = "/var/lib/etcd-cluster";
/** Digest of the configuration etcd was last verified healthy with. */
export const APPLIED_STAMP = `${STATE_DIR}/applied`;
/** Figures of the preflight checks, written when they passed before etcd first started on this machine. */
export const PREFLIGHT_RECORD = `${STATE_DIR}/preflight.json`;
/** What the CA this member trusts was made from (key algorithm, stack, validity), for the preflight to compare. */
export const CA_RECIPE = `${STATE_DIR}/ca-recipe`;
export const UPLOAD_DIR = "/var/tmp";

/** The files of one staged configuration, relative to its directory. */
export const RELEASE_FILES = {
    env: "etcd.env",
    unit: "etcd.service",
    etcd: "etcd",
    ca: "pki/ca.crt",
    serverCert: "pki/server.crt",
    serverKey: "pki/server.key",
    peerCert: "pki/peer.crt",
    peerKey: "pki/peer.key",
    peerCa: "pki/peer-ca.crt",
} as const;

export function releaseDir(digest: string): string {
    return `${RELEASES_DIR}/${digest}`;
}

/** Paths as etcd and its unit see them: always through the `current` link. */
export const PKI = {
    ca: `${CURRENT_LINK}/${RELEASE_FILES.ca}`,
    serverCert: `${CURRENT_LINK}/${RELEASE_FILES.serverCert}`,
    serverKey: `${CURRENT_LINK}/${RELEASE_FILES.serverKey}`,
    peerCert: `${CURRENT_LINK}/${RELEASE_FILES.peerCert}`,
    peerKey: `${CURRENT_LINK}/${RELEASE_FILES.peerKey}`,
    /** The peer port trusts this CA alone, which signs nothing but member peer certificates. */
    peerCa: `${CURRENT_LINK}/${RELEASE_FILES.peerCa}`,
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
