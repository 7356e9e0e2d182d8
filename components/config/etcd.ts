import * as fs from "fs";
import * as path from "path";
import { SIZES, Size, Tier, loadTiers } from "../../sizing";
import { ClientSpec, parseClients } from "../clients";
import { sha256 } from "../digest";
import { ETCD_RELEASE_SHA256 } from "../etcdChecksums";
import { SHA256_HEX, expectedSha256, pinnedSummary } from "../releaseChecksums";
import { DEFAULT_ETCD_VERSION, checkVersion, parseVersion } from "../versions";
import { isDnsLabel, isDnsName, isIp } from "./net";
import { unusableEtcdDir, isInside } from "./paths";
import { PreflightSettings } from "../scripts/preflight";
import { readPreflight } from "./preflight";
import { RESTORE_KEYS, RestoreSource, readRestore } from "./restore";
import { ConfigReader, PROJECT } from "./reader";

/** The cluster's own settings (everything about etcd), the same whichever target makes the machines. */

export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-4096"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
/** Steps that move a cluster whose peer certificates came from the cluster CA to a peer CA of its own (README). */
export const PEER_CA_MIGRATIONS = ["none", "trust-both", "new-certificates"] as const;
export type PeerCaMigration = (typeof PEER_CA_MIGRATIONS)[number];
const MAX_QUOTA_BYTES = 8 * 1024 ** 3;
/** Below this, a cluster raises NOSPACE before it holds anything useful. */
const MIN_QUOTA_BYTES = 256 * 1024 ** 2;

export interface ClusterConfig {
    nodeCount: number;
    allowSingleMember: boolean;
    size: Size;
    /** The size tier's row of sizing/tiers.yaml, resolved once here. */
    tier: Tier;
    etcdVersion: string;
    etcdDownloadUrl: string;
    /** Absolute path of a local release tarball uploaded instead of downloading. */
    etcdArchive?: string;
    /** SHA-256 the release tarball must have, for versions (or builds) whose checksum is not pinned in the program. */
    etcdSha256?: string;
    heartbeatIntervalMs: number;
    electionTimeoutMs: number;
    snapshotCount: number;
    quotaBackendBytes: number;
    autoCompactionMode: "periodic" | "revision";
    autoCompactionRetention: string;
    maxRequestBytes: number;
    dataDir: string;
    walDir: string;
    certRotation: string;
    certValidityDays: number;
    /** Leaf certificates are re-issued by the first update this many days before they could expire. */
    certRenewBeforeDays: number;
    /** The health gate fails when a member's certificate expires sooner than this. */
    certExpiryMarginDays: number;
    caValidityDays: number;
    keyAlgorithm: KeyAlgorithm;
    extraSans: string[];
    clientCertificates: ClientSpec[];
    peerCaMigration: PeerCaMigration;
    /** etcd 3.5 only: serve the deprecated v2 API for consumers that still need it. */
    enableV2: boolean;
    /** Checks of each machine before etcd first starts there, and the ones waived. */
    preflight: PreflightSettings;
    /** The member whose host runs the cluster health gate (any healthy member can); undefined: the first. */
    healthGateMember?: string;
    /** Bring the cluster up from this snapshot, once (see components/restore.ts). */
    restore?: RestoreSource;
}

/** Defaults; Pulumi.yaml declares the same values (a test keeps the two equal). */
export const CLUSTER_DEFAULTS = {
    nodeCount: 3,
    allowSingleMember: false,
    size: "small",
    etcdVersion: DEFAULT_ETCD_VERSION,
    etcdDownloadUrl: "https://github.com/etcd-io/etcd/releases/download",
    heartbeatIntervalMs: 100,
    electionTimeoutMs: 1000,
    snapshotCount: 10000,
    autoCompactionMode: "periodic",
    autoCompactionRetention: "1h",
    maxRequestBytes: 1572864,
    dataDir: "/var/lib/etcd",
    walDir: "/var/lib/etcd-wal",
    certRotation: "0",
    certValidityDays: 365,
    certRenewBeforeDays: 30,
    certExpiryMarginDays: 14,
    caValidityDays: 3650,
    keyAlgorithm: "ECDSA-P256",
    enableV2: false,
    peerCaMigration: "none",
} as const;

export const CLUSTER_KEYS = [
    "nodeCount", "allowSingleMember", "size", "etcdVersion", "etcdDownloadUrl", "etcdArchive", "etcdSha256",
    "heartbeatIntervalMs", "electionTimeoutMs", "snapshotCount", "quotaBackendBytes", "autoCompactionMode",
    "autoCompactionRetention", "maxRequestBytes", "dataDir", "walDir", "certRotation", "certValidityDays",
    "certRenewBeforeDays", "certExpiryMarginDays", "caValidityDays", "keyAlgorithm", "extraSans", "clientCertificates", "enableV2",
    "healthGateMember", "peerCaMigration", "preflight", ...RESTORE_KEYS,
] as const;

export interface ClusterReadOptions {
    /** Injectable for tests. */
    fileExists?: (p: string) => boolean;
    sha256File?: (p: string) => string;
    cwd?: string;
}

/** Reads and checks the cluster's keys; problems go to the reader. Undefined when any key was bad. */
export function readClusterConfig(r: ConfigReader, opts: ClusterReadOptions = {}): ClusterConfig | undefined {
    const before = r.errors.length;
    const fileExists = opts.fileExists ?? fs.existsSync;
    const sha256File = opts.sha256File ?? ((p: string) => sha256(fs.readFileSync(p)));
    const D = CLUSTER_DEFAULTS;

    const allowSingleMember = r.bool("allowSingleMember", D.allowSingleMember);
    const nodeCount = r.int("nodeCount", D.nodeCount, -Infinity, Infinity, "allowed: an odd whole number 3, 5 or 7");
    if (nodeCount !== undefined) {
        if (nodeCount === 1 && !allowSingleMember) {
            r.bad("nodeCount", nodeCount, `a single member has no fault tolerance; allowed: 3, 5 or 7 (1 only with ${PROJECT}:allowSingleMember=true, for development)`);
        } else if (nodeCount < 1 || nodeCount > 7 || nodeCount % 2 === 0) {
            r.bad("nodeCount", nodeCount, "allowed: an odd whole number 3, 5 or 7 (an even count adds no fault tolerance; more than 7 slows every write)");
        }
    }

    const size = r.str("size", D.size);
    const tier = (SIZES as readonly string[]).includes(size ?? "") ? loadTiers()[size as Size] : undefined;
    if (!tier) r.bad("size", size, `allowed: ${SIZES.join(", ")}`);

    const etcdVersion = r.str("etcdVersion", D.etcdVersion) ?? D.etcdVersion;
    const versionCheck = checkVersion(etcdVersion);
    if (versionCheck.error) r.bad("etcdVersion", etcdVersion, versionCheck.error);
    r.warnings.push(...versionCheck.warnings);

    const etcdDownloadUrl = (r.str("etcdDownloadUrl", D.etcdDownloadUrl) ?? "").replace(/\/+$/, "");
    if (!/^https:\/\/[^\s'"`$\\]+$/.test(etcdDownloadUrl)) r.bad("etcdDownloadUrl", etcdDownloadUrl, "expected an https URL of a mirror laid out like the official releases (<url>/v<version>/etcd-v<version>-linux-<arch>.tar.gz); plain http is refused");

    let etcdSha256 = r.str("etcdSha256")?.trim().toLowerCase() || undefined;
    if (etcdSha256 !== undefined && !SHA256_HEX.test(etcdSha256)) {
        r.bad("etcdSha256", etcdSha256, "expected the 64 hex digits of a SHA-256 (as in a release's SHA256SUMS)");
        etcdSha256 = undefined;
    } else if (etcdSha256 === undefined && !versionCheck.error && !ETCD_RELEASE_SHA256[etcdVersion]) {
        r.missing("etcdSha256", `etcd ${etcdVersion} has no checksum pinned in this program (pinned: ${pinnedSummary()}), ` +
            `and a checksum from the download mirror proves nothing; set it to the SHA-256 of etcd-v${etcdVersion}-linux-<arch>.tar.gz checked against a source you trust (\`pulumi config set etcdSha256 <hex>\`)`);
    } else if (etcdSha256 !== undefined && ETCD_RELEASE_SHA256[etcdVersion] && !Object.values(ETCD_RELEASE_SHA256[etcdVersion]).includes(etcdSha256)) {
        r.warnings.push(`${PROJECT}:etcdSha256 is not the published checksum of any etcd ${etcdVersion} release tarball: the archive installed is not the official release`);
    }

    let etcdArchive = r.str("etcdArchive");
    if (etcdArchive) {
        etcdArchive = path.resolve(opts.cwd ?? process.cwd(), etcdArchive);
        const m = /^etcd-v(\d+\.\d+\.\d+)-linux-(amd64|arm64)\.tar\.gz$/.exec(path.basename(etcdArchive));
        if (!fileExists(etcdArchive)) r.bad("etcdArchive", etcdArchive, "the file does not exist; expected the path of an official release tarball etcd-v<version>-linux-<arch>.tar.gz");
        else if (!m) r.bad("etcdArchive", etcdArchive, "expected an official release tarball named etcd-v<version>-linux-<amd64|arm64>.tar.gz");
        else if (m[1] !== etcdVersion) r.bad("etcdArchive", etcdArchive, `the archive holds etcd ${m[1]} but ${PROJECT}:etcdVersion is ${etcdVersion}; they must match`);
        else {
            const expected = expectedSha256(etcdVersion, etcdSha256)[m[2] as "amd64" | "arm64"];
            const actual = sha256File(etcdArchive);
            if (expected === undefined) r.bad("etcdArchive", etcdArchive, `no checksum of etcd ${etcdVersion} for ${m[2]} is pinned in this program; set ${PROJECT}:etcdSha256`);
            else if (actual !== expected) {
                r.bad("etcdArchive", etcdArchive, `its SHA-256 is ${actual}, but ${etcdSha256 ? `${PROJECT}:etcdSha256` : `the published checksum of ${m[0]}`} is ${expected}: ` +
                    "the file is not the release it is named after");
            }
        }
    } else {
        etcdArchive = undefined;
    }

    const enableV2 = r.bool("enableV2", D.enableV2);
    const minor = parseVersion(etcdVersion)?.minor;
    if (enableV2 && minor !== undefined && minor >= 6) {
        r.bad("enableV2", enableV2, `etcd ${etcdVersion} has no v2 API (etcd 3.6 removed it); allowed: false, or an etcd 3.5 release while consumers move to the v3 API`);
    } else if (enableV2) {
        r.warnings.push(`${PROJECT}:enableV2 turns on etcd's deprecated v2 API, which etcd 3.6 removed: move its consumers to the v3 API before upgrading`);
    }

    const heartbeatIntervalMs = r.int("heartbeatIntervalMs", D.heartbeatIntervalMs, 10, 10000, "allowed: whole milliseconds 10-10000");
    const electionTimeoutMs = r.int("electionTimeoutMs", D.electionTimeoutMs, 50, 50000, "allowed: whole milliseconds 50-50000");
    if (heartbeatIntervalMs !== undefined && electionTimeoutMs !== undefined && electionTimeoutMs < 5 * heartbeatIntervalMs) {
        r.bad("electionTimeoutMs", electionTimeoutMs, `it must be at least 5 × ${PROJECT}:heartbeatIntervalMs (${5 * heartbeatIntervalMs})`);
    }
    const snapshotCount = r.int("snapshotCount", D.snapshotCount, 1000, 10_000_000, "allowed: a whole number 1000-10000000 (fewer would write a snapshot every few requests)");
    const quotaBackendBytes = r.int("quotaBackendBytes", tier?.etcd.quotaBackendBytes, MIN_QUOTA_BYTES, MAX_QUOTA_BYTES,
        `allowed: a whole number of bytes, at least 256 MiB (${MIN_QUOTA_BYTES}) and at most 8 GiB (${MAX_QUOTA_BYTES}), etcd's suggested maximum`);
    const autoCompactionMode = r.str("autoCompactionMode", D.autoCompactionMode);
    if (autoCompactionMode !== "periodic" && autoCompactionMode !== "revision") r.bad("autoCompactionMode", autoCompactionMode, "allowed: periodic, revision");
    const autoCompactionRetention = r.str("autoCompactionRetention", D.autoCompactionRetention) ?? "";
    // Zero would turn compaction off and let the backend grow until NOSPACE.
    const retentionOk = autoCompactionMode === "revision"
        ? /^[1-9]\d*$/.test(autoCompactionRetention)
        : /^([1-9]\d*|(\d+(\.\d+)?(h|m|s))+)$/.test(autoCompactionRetention) && /[1-9]/.test(autoCompactionRetention);
    if (!retentionOk) {
        r.bad("autoCompactionRetention", autoCompactionRetention, autoCompactionMode === "revision"
            ? "allowed with revision mode: a positive whole number of revisions"
            : "allowed with periodic mode: a positive duration such as 1h or 30m, or a whole number of hours (0 would turn compaction off)");
    }
    const maxRequestBytes = r.int("maxRequestBytes", D.maxRequestBytes, 1024, 64 * 1024 * 1024, "allowed: a whole number of bytes 1024-67108864");

    const dataDir = r.str("dataDir", D.dataDir) ?? "";
    const walDir = r.str("walDir", D.walDir) ?? "";
    const dirProblems = { dataDir: unusableEtcdDir(dataDir), walDir: unusableEtcdDir(walDir) };
    for (const [key, dir] of [["dataDir", dataDir], ["walDir", walDir]] as const) {
        if (dirProblems[key]) r.bad(key, dir, `${dirProblems[key]}; allowed: a directory of its own such as /var/lib/etcd or a mount point such as /srv/etcd-data`);
    }
    if (!dirProblems.dataDir && !dirProblems.walDir && (dataDir === walDir || isInside(walDir, dataDir) || isInside(dataDir, walDir))) {
        r.bad("walDir", walDir, `it must be a directory of its own, neither inside nor around ${PROJECT}:dataDir (${dataDir})`);
    }

    const certRotation = r.str("certRotation", D.certRotation) ?? "";
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(certRotation)) r.bad("certRotation", certRotation, "expected 1-32 letters, digits, '.', '_' or '-' (for example a date or a counter)");
    const caValidityDays = r.int("caValidityDays", D.caValidityDays, 1, 36500, "allowed: whole days 1-36500");
    const certValidityDays = r.int("certValidityDays", D.certValidityDays, 1, 36500, "allowed: whole days 1-36500");
    if (certValidityDays !== undefined && caValidityDays !== undefined && certValidityDays > caValidityDays) {
        r.bad("certValidityDays", certValidityDays, `it must not exceed ${PROJECT}:caValidityDays (${caValidityDays})`);
    }
    const certRenewBeforeDays = r.int("certRenewBeforeDays", D.certRenewBeforeDays, 1, 36500, "allowed: whole days, at least 1");
    if (certRenewBeforeDays !== undefined && certValidityDays !== undefined && certRenewBeforeDays >= certValidityDays) {
        r.bad("certRenewBeforeDays", certRenewBeforeDays, `it must be below ${PROJECT}:certValidityDays (${certValidityDays}), or certificates would be renewed on every update`);
    }
    const certExpiryMarginDays = r.int("certExpiryMarginDays", D.certExpiryMarginDays, 0, 36500, "allowed: whole days, 0 or more");
    if (certExpiryMarginDays !== undefined && certRenewBeforeDays !== undefined && certExpiryMarginDays >= certRenewBeforeDays) {
        r.bad("certExpiryMarginDays", certExpiryMarginDays, `it must be below ${PROJECT}:certRenewBeforeDays (${certRenewBeforeDays}): certificates are renewed that long before expiry, so a larger margin fails healthy clusters`);
    }
    const keyAlgorithm = r.str("keyAlgorithm", D.keyAlgorithm);
    if (!(KEY_ALGORITHMS as readonly string[]).includes(keyAlgorithm ?? "")) r.bad("keyAlgorithm", keyAlgorithm, `allowed: ${KEY_ALGORITHMS.join(", ")}`);

    const extraSans = (r.list("extraSans") ?? []).filter((san, i) => {
        const ok = typeof san === "string" && (isIp(san) || isDnsName(san));
        if (!ok) r.bad(`extraSans[${i}]`, san, "expected an IP address or a DNS name (no wildcards: each member certificate names real endpoints)");
        return ok;
    }) as string[];
    const clientCertificates = parseClients(r.list("clientCertificates") ?? [], (key, value, allowed) => r.bad(key, value, allowed));
    const peerCaMigration = r.str("peerCaMigration", D.peerCaMigration);
    if (!(PEER_CA_MIGRATIONS as readonly string[]).includes(peerCaMigration ?? "")) {
        r.bad("peerCaMigration", peerCaMigration, `allowed: ${PEER_CA_MIGRATIONS.join(", ")} (see the README: moving an existing cluster to a peer CA of its own)`);
    }

    const healthGateMember = r.str("healthGateMember") || undefined;
    if (healthGateMember !== undefined && !isDnsLabel(healthGateMember)) r.bad("healthGateMember", healthGateMember, "expected the name of a member");

    const preflight = readPreflight(r);
    const restore = readRestore(r, { cwd: opts.cwd });

    if (r.errors.length > before || !tier || !preflight) return undefined;
    return {
        nodeCount: nodeCount!, allowSingleMember, size: size as Size, tier,
        etcdVersion, etcdDownloadUrl, etcdArchive, etcdSha256,
        heartbeatIntervalMs: heartbeatIntervalMs!, electionTimeoutMs: electionTimeoutMs!, snapshotCount: snapshotCount!,
        quotaBackendBytes: quotaBackendBytes!, autoCompactionMode: autoCompactionMode as "periodic" | "revision",
        autoCompactionRetention, maxRequestBytes: maxRequestBytes!, dataDir, walDir,
        certRotation, certValidityDays: certValidityDays!, caValidityDays: caValidityDays!,
        certRenewBeforeDays: certRenewBeforeDays!, certExpiryMarginDays: certExpiryMarginDays!,
        keyAlgorithm: keyAlgorithm as KeyAlgorithm, extraSans, clientCertificates, enableV2, healthGateMember, preflight, restore,
        peerCaMigration: peerCaMigration as PeerCaMigration,
    };
}
