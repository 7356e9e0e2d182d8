import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SIZES, Size, loadTiers } from "../sizing";
import { DEFAULT_ETCD_VERSION, checkVersion } from "./versions";
import { parsePreflight } from "./preflightConfig";
import { PreflightSettings } from "./scripts/preflight";

/** Stack configuration: every `etcd-cluster:*` key, read and validated in one place before any resource exists. */

export const PROJECT = "etcd-cluster";
export const TARGETS = ["hosts", "aws", "gcp"] as const;
export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-4096"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
const MAX_QUOTA_BYTES = 8 * 1024 ** 3;

export interface HostSpec {
    name: string; address: string; user: string; port: number;
    /** Block devices for etcd's data and WAL (stable paths such as /dev/disk/by-id/...). */
    dataDevice?: string; walDevice?: string;
}

export interface ClusterConfig {
    target: "hosts";
    nodeCount: number;
    allowSingleMember: boolean;
    size: Size;
    hosts: HostSpec[];
    etcdVersion: string;
    etcdDownloadUrl: string;
    /** Absolute path of a local release tarball uploaded instead of downloading. */
    etcdArchive?: string;
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
    caValidityDays: number;
    keyAlgorithm: KeyAlgorithm;
    extraSans: string[];
    clientCertificates: string[];
    preflight: PreflightSettings;
}

/** Defaults; Pulumi.yaml declares the same values (a test keeps the two equal). */
export const DEFAULTS = {
    target: "hosts",
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
    caValidityDays: 3650,
    keyAlgorithm: "ECDSA-P256",
} as const;

/** Raw values as the Pulumi CLI hands them over (strings, structured values as JSON text), or typed values in tests. */
export type RawConfig = Record<string, unknown>;

export interface ValidationResult { config?: ClusterConfig; errors: string[]; warnings: string[] }

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9._:+@\/-]*[A-Za-z0-9._:+@-]$/;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/;

export function isIp(value: string): boolean { return net.isIP(value) !== 0; }
export function isDnsName(value: string): boolean { return value.length <= 253 && DNS_NAME.test(value); }

/** A hosts entry's dataDevice and walDevice; undefined when one is bad. */
function hostDevices(entry: Record<string, unknown>, key: string, bad: (key: string, value: unknown, allowed: string) => void, warn: (w: string) => void): { dataDevice?: string; walDevice?: string } | undefined {
    const devices: { dataDevice?: string; walDevice?: string } = {};
    let ok = true;
    for (const field of ["dataDevice", "walDevice"] as const) {
        const device = entry[field];
        if (device === undefined) continue;
        if (typeof device !== "string" || !DEVICE_PATH.test(device) || device.split("/").includes("..")) {
            bad(`${key}.${field}`, device, "expected the path of a block device under /dev, preferably a stable one such as /dev/disk/by-id/...");
            ok = false;
        } else if (device === devices.dataDevice) {
            bad(`${key}.${field}`, device, "it is also this host's dataDevice; data and WAL need devices of their own");
            ok = false;
        } else {
            devices[field] = device;
            if (!device.startsWith("/dev/disk/")) warn(`${PROJECT}:${key}.${field}: ${device} is a kernel name that may name another disk after a reboot; prefer a /dev/disk/by-id/ path (a device is always checked before use, and fstab names its filesystem's UUID)`);
        }
    }
    return ok ? devices : undefined;
}

/** Checks every key and reports every problem at once; `fileExists` is injectable for tests. */
export function validateConfig(raw: RawConfig, opts: { sshKeySet: boolean; fileExists?: (p: string) => boolean; cwd?: string }): ValidationResult {
    const errors: string[] = [];
    const warnings: string[] = [];
    const fileExists = opts.fileExists ?? fs.existsSync;
    const bad = (key: string, value: unknown, allowed: string) =>
        errors.push(`${PROJECT}:${key}: ${JSON.stringify(value)} is not allowed; ${allowed}`);

    const str = (key: string, dflt?: string): string | undefined => {
        const v = raw[key] ?? dflt;
        if (v === undefined || typeof v === "string") return v as string | undefined;
        if (typeof v === "number" || typeof v === "boolean") return String(v);
        bad(key, v, "expected a string");
        return undefined;
    };
    const int = (key: string, dflt: number | undefined, min: number, max: number, what: string): number | undefined => {
        const v = raw[key];
        if (v === undefined || v === "") return dflt;
        const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < min || n > max) { bad(key, v, what); return undefined; }
        return n;
    };
    const bool = (key: string, dflt: boolean): boolean => {
        const v = raw[key];
        if (v === undefined || v === "") return dflt;
        if (v === true || v === "true") return true;
        if (v === false || v === "false") return false;
        bad(key, v, "expected true or false");
        return dflt;
    };
    const list = (key: string): unknown[] | undefined => {
        const v = raw[key];
        if (v === undefined || v === "") return [];
        let parsed: unknown = v;
        if (typeof v === "string") {
            try { parsed = JSON.parse(v); } catch { bad(key, v, "expected a list (set it with `pulumi config set --path`)"); return undefined; }
        }
        if (!Array.isArray(parsed)) { bad(key, v, "expected a list"); return undefined; }
        return parsed;
    };

    const target = str("target", DEFAULTS.target);
    if (target !== "hosts") {
        bad("target", target, (TARGETS as readonly string[]).includes(target ?? "")
            ? `target "${target}" is not available yet in this version; allowed: hosts`
            : `allowed: ${TARGETS.join(", ")}`);
    }

    const allowSingleMember = bool("allowSingleMember", DEFAULTS.allowSingleMember);
    const nodeCount = int("nodeCount", DEFAULTS.nodeCount, -Infinity, Infinity, "allowed: an odd whole number 3, 5 or 7");
    if (nodeCount !== undefined) {
        if (nodeCount === 1 && !allowSingleMember) {
            bad("nodeCount", nodeCount, `a single member has no fault tolerance; allowed: 3, 5 or 7 (1 only with ${PROJECT}:allowSingleMember=true, for development)`);
        } else if (nodeCount < 1 || nodeCount > 7 || nodeCount % 2 === 0) {
            bad("nodeCount", nodeCount, "allowed: an odd whole number 3, 5 or 7 (an even count adds no fault tolerance; more than 7 slows every write)");
        }
    }

    const size = str("size", DEFAULTS.size);
    if (!(SIZES as readonly string[]).includes(size ?? "")) bad("size", size, `allowed: ${SIZES.join(", ")}`);

    const hosts: HostSpec[] = [];
    const rawHosts = list("hosts");
    if (target === "hosts" && rawHosts) {
        if (rawHosts.length === 0) errors.push(`${PROJECT}:hosts: is empty; the hosts target needs one entry { name, address, user?, port? } per member`);
        const names = new Set<string>();
        const addresses = new Set<string>();
        rawHosts.forEach((h, i) => {
            const key = `hosts[${i}]`;
            if (typeof h !== "object" || h === null) { bad(key, h, "expected { name, address, user?, port?, dataDevice?, walDevice? }"); return; }
            const { name, address, user = "root", port = 22 } = h as Record<string, unknown>;
            let ok = true;
            if (typeof name !== "string" || !LABEL.test(name)) { bad(`${key}.name`, name, "expected a DNS-1123 label: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit"); ok = false; }
            else if (names.has(name)) { bad(`${key}.name`, name, "host names must be unique"); ok = false; }
            if (typeof address !== "string" || !(isIp(address) || isDnsName(address))) { bad(`${key}.address`, address, "expected an IPv4 or IPv6 address or a DNS name"); ok = false; }
            else if (addresses.has(address)) { bad(`${key}.address`, address, "host addresses must be unique"); ok = false; }
            if (typeof user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) { bad(`${key}.user`, user, "expected a login name"); ok = false; }
            const portNumber = typeof port === "string" ? Number(port) : port;
            if (typeof portNumber !== "number" || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) { bad(`${key}.port`, port, "expected a port number 1-65535"); ok = false; }
            const devices = hostDevices(h as Record<string, unknown>, key, bad, (w) => warnings.push(w));
            if (!devices) ok = false;
            if (typeof name === "string") names.add(name);
            if (typeof address === "string") addresses.add(address);
            if (ok) hosts.push({ name: name as string, address: address as string, user: user as string, port: portNumber as number, ...devices! });
        });
        if (nodeCount !== undefined && rawHosts.length > 0 && rawHosts.length !== nodeCount) {
            bad("nodeCount", nodeCount, `it must equal the number of entries in ${PROJECT}:hosts (${rawHosts.length})`);
        }
    }
    if (target === "hosts" && !opts.sshKeySet) {
        errors.push(`${PROJECT}:sshPrivateKey: is not set; set it with \`pulumi config set --secret sshPrivateKey < key\``);
    }

    const etcdVersion = str("etcdVersion", DEFAULTS.etcdVersion) ?? DEFAULTS.etcdVersion;
    const versionCheck = checkVersion(etcdVersion);
    if (versionCheck.error) bad("etcdVersion", etcdVersion, versionCheck.error);
    warnings.push(...versionCheck.warnings);

    const etcdDownloadUrl = (str("etcdDownloadUrl", DEFAULTS.etcdDownloadUrl) ?? "").replace(/\/+$/, "");
    if (!/^https?:\/\/[^\s'"`$\\]+$/.test(etcdDownloadUrl)) bad("etcdDownloadUrl", etcdDownloadUrl, "expected an http(s) URL of a mirror laid out like the official releases (<url>/v<version>/etcd-v<version>-linux-<arch>.tar.gz and SHA256SUMS)");

    let etcdArchive = str("etcdArchive");
    if (etcdArchive) {
        etcdArchive = path.resolve(opts.cwd ?? process.cwd(), etcdArchive);
        const base = path.basename(etcdArchive);
        const m = /^etcd-v(\d+\.\d+\.\d+)-linux-(amd64|arm64)\.tar\.gz$/.exec(base);
        if (!fileExists(etcdArchive)) bad("etcdArchive", etcdArchive, "the file does not exist; expected the path of an official release tarball etcd-v<version>-linux-<arch>.tar.gz");
        else if (!m) bad("etcdArchive", etcdArchive, "expected an official release tarball named etcd-v<version>-linux-<amd64|arm64>.tar.gz");
        else if (m[1] !== etcdVersion) bad("etcdArchive", etcdArchive, `the archive holds etcd ${m[1]} but ${PROJECT}:etcdVersion is ${etcdVersion}; they must match`);
    } else {
        etcdArchive = undefined;
    }

    const heartbeatIntervalMs = int("heartbeatIntervalMs", DEFAULTS.heartbeatIntervalMs, 10, 10000, "allowed: whole milliseconds 10-10000");
    const electionTimeoutMs = int("electionTimeoutMs", DEFAULTS.electionTimeoutMs, 50, 50000, "allowed: whole milliseconds 50-50000");
    if (heartbeatIntervalMs !== undefined && electionTimeoutMs !== undefined && electionTimeoutMs < 5 * heartbeatIntervalMs) {
        bad("electionTimeoutMs", electionTimeoutMs, `it must be at least 5 × ${PROJECT}:heartbeatIntervalMs (${5 * heartbeatIntervalMs})`);
    }
    const snapshotCount = int("snapshotCount", DEFAULTS.snapshotCount, 1, 10_000_000, "allowed: a whole number 1-10000000");
    const tierQuota = (SIZES as readonly string[]).includes(size ?? "") ? loadTiers()[size as Size].etcd.quotaBackendBytes : undefined;
    const quotaBackendBytes = int("quotaBackendBytes", tierQuota, 1, Infinity, "allowed: a whole number of bytes");
    if (quotaBackendBytes !== undefined && quotaBackendBytes > MAX_QUOTA_BYTES) bad("quotaBackendBytes", quotaBackendBytes, `allowed: at most 8 GiB (${MAX_QUOTA_BYTES}), etcd's suggested maximum`);
    const autoCompactionMode = str("autoCompactionMode", DEFAULTS.autoCompactionMode);
    if (autoCompactionMode !== "periodic" && autoCompactionMode !== "revision") bad("autoCompactionMode", autoCompactionMode, "allowed: periodic, revision");
    const autoCompactionRetention = str("autoCompactionRetention", DEFAULTS.autoCompactionRetention) ?? "";
    if (autoCompactionMode === "revision" ? !/^[1-9]\d*$/.test(autoCompactionRetention) : !/^(\d+|(\d+(\.\d+)?(h|m|s))+)$/.test(autoCompactionRetention)) {
        bad("autoCompactionRetention", autoCompactionRetention, autoCompactionMode === "revision" ? "allowed with revision mode: a positive whole number of revisions" : "allowed with periodic mode: a duration such as 1h, 30m or a whole number of hours");
    }
    const maxRequestBytes = int("maxRequestBytes", DEFAULTS.maxRequestBytes, 1024, 64 * 1024 * 1024, "allowed: a whole number of bytes 1024-67108864");

    const dataDir = str("dataDir", DEFAULTS.dataDir) ?? "";
    const walDir = str("walDir", DEFAULTS.walDir) ?? "";
    for (const [key, dir] of [["dataDir", dataDir], ["walDir", walDir]] as const) {
        if (!SAFE_PATH.test(dir) || dir.split("/").includes("..")) bad(key, dir, "expected an absolute path of letters, digits, '.', '_', '-' and '/'");
    }
    if (dataDir === walDir || walDir.startsWith(`${dataDir}/`) || dataDir.startsWith(`${walDir}/`)) {
        bad("walDir", walDir, `it must be a directory of its own, outside ${PROJECT}:dataDir (${dataDir})`);
    }

    const certRotation = str("certRotation", DEFAULTS.certRotation) ?? "";
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(certRotation)) bad("certRotation", certRotation, "expected 1-32 letters, digits, '.', '_' or '-' (for example a date or a counter)");
    const caValidityDays = int("caValidityDays", DEFAULTS.caValidityDays, 1, 36500, "allowed: whole days 1-36500");
    const certValidityDays = int("certValidityDays", DEFAULTS.certValidityDays, 1, 36500, "allowed: whole days 1-36500");
    if (certValidityDays !== undefined && caValidityDays !== undefined && certValidityDays > caValidityDays) {
        bad("certValidityDays", certValidityDays, `it must not exceed ${PROJECT}:caValidityDays (${caValidityDays})`);
    }
    const keyAlgorithm = str("keyAlgorithm", DEFAULTS.keyAlgorithm);
    if (!(KEY_ALGORITHMS as readonly string[]).includes(keyAlgorithm ?? "")) bad("keyAlgorithm", keyAlgorithm, `allowed: ${KEY_ALGORITHMS.join(", ")}`);

    const extraSans = (list("extraSans") ?? []).filter((san, i) => {
        const ok = typeof san === "string" && (isIp(san) || isDnsName(san));
        if (!ok) bad(`extraSans[${i}]`, san, "expected an IP address or a DNS name");
        return ok;
    }) as string[];
    const clientCertificates = (list("clientCertificates") ?? []).filter((name, i, all) => {
        const ok = typeof name === "string" && LABEL.test(name) && all.indexOf(name) === i && name !== "root";
        if (!ok) bad(`clientCertificates[${i}]`, name, "expected unique DNS-1123 labels naming consumers (e.g. kube-apiserver); 'root' is the admin certificate");
        return ok;
    }) as string[];

    const preflight = parsePreflight(raw.preflight, bad);

    if (errors.length) return { errors, warnings };
    return {
        errors, warnings,
        config: {
            target: "hosts", nodeCount: nodeCount!, allowSingleMember, size: size as Size, hosts,
            etcdVersion, etcdDownloadUrl, etcdArchive,
            heartbeatIntervalMs: heartbeatIntervalMs!, electionTimeoutMs: electionTimeoutMs!, snapshotCount: snapshotCount!,
            quotaBackendBytes: quotaBackendBytes!, autoCompactionMode: autoCompactionMode as "periodic" | "revision",
            autoCompactionRetention, maxRequestBytes: maxRequestBytes!, dataDir, walDir,
            certRotation, certValidityDays: certValidityDays!, caValidityDays: caValidityDays!,
            keyAlgorithm: keyAlgorithm as KeyAlgorithm, extraSans, clientCertificates, preflight,
        },
    };
}

export const CONFIG_KEYS = [
    "target", "nodeCount", "allowSingleMember", "size", "hosts", "etcdVersion", "etcdDownloadUrl", "etcdArchive",
    "heartbeatIntervalMs", "electionTimeoutMs", "snapshotCount", "quotaBackendBytes", "autoCompactionMode",
    "autoCompactionRetention", "maxRequestBytes", "dataDir", "walDir", "certRotation", "certValidityDays",
    "caValidityDays", "keyAlgorithm", "extraSans", "clientCertificates", "preflight",
] as const;

/** Reads the stack's configuration; throws one error listing every problem, so nothing is registered on bad input. */
export function loadStackConfig(): { config: ClusterConfig; sshPrivateKey: pulumi.Output<string> } {
    const cfg = new pulumi.Config(PROJECT);
    const raw: RawConfig = {};
    for (const key of CONFIG_KEYS) raw[key] = cfg.get(key);
    const sshPrivateKey = cfg.getSecret("sshPrivateKey");
    const result = validateConfig(raw, { sshKeySet: sshPrivateKey !== undefined });
    for (const w of result.warnings) pulumi.log.warn(w);
    if (!result.config) {
        throw new pulumi.RunError(`invalid stack configuration (${result.errors.length} problem${result.errors.length > 1 ? "s" : ""}):\n  - ${result.errors.join("\n  - ")}`);
    }
    return { config: result.config, sshPrivateKey: sshPrivateKey! };
}
