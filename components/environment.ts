import { ClusterConfig } from "./config";
import { PKI, walPath } from "./layout";
import { CLIENT_PORT, METRICS_URL, MemberPlan, advertisedClientUrls, urlHost } from "./plan";
import { corruptionCheckEnvironment } from "./versions";

/**
 * TLS 1.2 suites etcd may use: forward-secret AEAD only (Go's defaults also allow CBC with SHA-1). TLS 1.3, whose
 * suites are all AEAD, is negotiated whenever the client supports it; etcd refuses a suite list together with a
 * TLS 1.3 minimum, so TLS 1.2 stays allowed, limited to these.
 */
export const AEAD_CIPHER_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/**
 * etcd's settings as `ETCD_*` variables. kube-bench reads the process environment, so the CIS items are satisfied
 * here; only `--data-dir` is a flag (kube-bench finds the data dir on the command line alone), and nothing is set twice.
 */
export function memberEnvironment(member: MemberPlan, config: ClusterConfig): Record<string, string> {
    return {
        ETCD_NAME: member.name,
        ETCD_WAL_DIR: walPath(config.walDir),
        ETCD_LISTEN_PEER_URLS: member.peerUrl,
        ETCD_INITIAL_ADVERTISE_PEER_URLS: member.peerUrl,
        ETCD_LISTEN_CLIENT_URLS: `${member.clientUrl},https://${urlHost("127.0.0.1")}:${CLIENT_PORT}`,
        ETCD_ADVERTISE_CLIENT_URLS: advertisedClientUrls(member).join(","),
        ETCD_LISTEN_METRICS_URLS: METRICS_URL,
        ETCD_CERT_FILE: PKI.serverCert,
        ETCD_KEY_FILE: PKI.serverKey,
        ETCD_TRUSTED_CA_FILE: PKI.ca,
        ETCD_CLIENT_CERT_AUTH: "true",
        ETCD_AUTO_TLS: "false",
        ETCD_PEER_CERT_FILE: PKI.peerCert,
        ETCD_PEER_KEY_FILE: PKI.peerKey,
        ETCD_PEER_TRUSTED_CA_FILE: PKI.peerCa,
        ETCD_PEER_CLIENT_CERT_AUTH: "true",
        ETCD_PEER_AUTO_TLS: "false",
        ETCD_TLS_MIN_VERSION: "TLS1.2",
        ETCD_CIPHER_SUITES: AEAD_CIPHER_SUITES.join(","),
        ETCD_HEARTBEAT_INTERVAL: String(config.heartbeatIntervalMs),
        ETCD_ELECTION_TIMEOUT: String(config.electionTimeoutMs),
        ETCD_SNAPSHOT_COUNT: String(config.snapshotCount),
        ETCD_QUOTA_BACKEND_BYTES: String(config.quotaBackendBytes),
        ETCD_AUTO_COMPACTION_MODE: config.autoCompactionMode,
        ETCD_AUTO_COMPACTION_RETENTION: config.autoCompactionRetention,
        ETCD_MAX_REQUEST_BYTES: String(config.maxRequestBytes),
        ETCD_STRICT_RECONFIG_CHECK: "true",
        ETCD_LOGGER: "zap",
        ETCD_LOG_OUTPUTS: "stderr",
        ...corruptionCheckEnvironment(config.etcdVersion),
        ...(config.enableV2 ? { ETCD_ENABLE_V2: "true" } : {}),
    };
}

/** systemd EnvironmentFile syntax; values are validated upstream to need no quoting. */
export function renderEnvironmentFile(vars: Record<string, string>, title: string): string {
    const lines = Object.entries(vars).map(([k, v]) => {
        if (!/^[A-Za-z0-9_./:=,\-[\]]*$/.test(v)) throw new Error(`${k}=${v}: value needs quoting, which this renderer refuses`);
        return `${k}=${v}`;
    });
    return [`# ${title}`, "# Managed by etcd-cluster (Pulumi); local edits are overwritten.", ...lines, ""].join("\n");
}
