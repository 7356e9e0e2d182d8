import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, DEFAULTS, RawConfig, validateConfig } from "../components/config";
import { ETCD_RELEASE_SHA256 } from "../components/etcdChecksums";
import { checkVersion } from "../components/versions";
import { hostsConfig, runProgram, testHostKey } from "./support/program";

const exists = (p: string) => p.endsWith("etcd-v3.6.14-linux-amd64.tar.gz") || p.endsWith("etcd-v3.5.30-linux-amd64.tar.gz");
const OFFICIAL_3_6_14_AMD64 = ETCD_RELEASE_SHA256["3.6.14"].amd64!;
const TAMPERED = "e".repeat(64);
/** Local archives as the tests imagine them: a "tampered" one keeps its official name but not its content. */
const fileSha256 = (p: string) => p.includes("tampered") ? TAMPERED : p.endsWith("etcd-v3.6.14-linux-amd64.tar.gz") ? OFFICIAL_3_6_14_AMD64 : "d".repeat(64);

function hosts(n: number): Array<Record<string, unknown>> {
    return Array.from({ length: n }, (_, i) => ({ name: `etcd-${i + 1}`, address: `10.0.0.${i + 1}`, hostKey: testHostKey(i + 1) }));
}

function validate(overrides: RawConfig, sshKeySet = true) {
    const n = typeof overrides.nodeCount === "number" ? overrides.nodeCount : 3;
    return validateConfig({ hosts: hosts(Math.max(n, 0) || 3), ...overrides }, { sshKeySet, fileExists: exists, sha256File: fileSha256, cwd: "/work" });
}

/** The one error about `key`; fails unless exactly one names it, and it shows the value and what is allowed. */
function errorFor(overrides: RawConfig, key: string, value: string, allowed: RegExp): void {
    const { errors, config } = validate(overrides);
    assert.equal(config, undefined, "bad input must not produce a config");
    const mine = errors.filter((e) => e.startsWith(`etcd-cluster:${key}:`));
    assert.equal(mine.length, 1, `expected one error for ${key}, got: ${errors.join(" | ")}`);
    assert.ok(mine[0].includes(value), `error should show the value ${value}: ${mine[0]}`);
    assert.match(mine[0], allowed);
}

test("a valid hosts config gets the documented defaults", () => {
    const { config, target, errors } = validate({});
    assert.deepEqual(errors, []);
    assert.equal(config!.nodeCount, 3);
    assert.equal(config!.size, "small");
    assert.equal(config!.etcdVersion, "3.6.14");
    assert.equal(config!.quotaBackendBytes, 2 * 1024 ** 3);
    assert.equal(config!.tier.aws.instanceType, "m4.large", "the size tier is resolved with the config");
    assert.deepEqual(target, { kind: "hosts", hosts: hosts(3).map((h) => ({ ...h, user: "root", port: 22 })) });
});

test("node counts: zero, negative, fractional, even, above 7 and a lone member are refused", () => {
    for (const [value, shown] of [[0, "0"], [-3, "-3"], ["2.5", "2.5"], [4, "4"], [9, "9"]] as const) {
        const { errors } = validateConfig({ nodeCount: value, hosts: hosts(3) }, { sshKeySet: true });
        assert.ok(errors.some((e) => e.startsWith("etcd-cluster:nodeCount:") && e.includes(shown) && /odd whole number 3, 5 or 7/.test(e)), `${value}: ${errors.join(" | ")}`);
    }
    errorFor({ nodeCount: 1, hosts: hosts(1) }, "nodeCount", "1", /allowSingleMember=true/);
    assert.deepEqual(validate({ nodeCount: 1, hosts: hosts(1), allowSingleMember: "true" }).errors, []);
    assert.deepEqual(validate({ nodeCount: 5, hosts: hosts(5) }).errors, []);
});

test("nodeCount must match the number of hosts", () => {
    errorFor({ nodeCount: 5, hosts: hosts(3) }, "nodeCount", "5", /number of entries in etcd-cluster:hosts \(3\)/);
});

test("host names must be unique DNS-1123 labels and addresses unique and valid", () => {
    const third = (entry: Record<string, unknown>) => ({ hosts: [...hosts(2), { ...hosts(3)[2], ...entry }] });
    errorFor(third({ name: "etcd-1", address: "10.0.0.9" }), "hosts[2].name", "etcd-1", /unique/);
    errorFor(third({ name: "Etcd_3", address: "10.0.0.9" }), "hosts[2].name", "Etcd_3", /DNS-1123 label/);
    errorFor(third({ address: "10.0.0.1" }), "hosts[2].address", "10.0.0.1", /unique/);
    assert.deepEqual(validate(third({ address: "fd00::3", port: 2222, user: "admin" })).errors, []);
});

test("host addresses are unicast IPs, written one way; ports are plain numbers; unknown host keys are typos", () => {
    const third = (entry: Record<string, unknown>) => ({ hosts: [...hosts(2), { name: "etcd-3", address: "10.0.0.3", hostKey: testHostKey(3), ...entry }] });
    for (const address of ["300.1.1.1!", "999.1.1.1", "etcd-3.example.com", "*", "10.0.0.3/24"]) {
        errorFor(third({ address }), "hosts[2].address", address, /IPv4 or IPv6 address \(etcd listens on IP addresses\)/);
    }
    for (const [address, why] of [["0.0.0.0", /unspecified/], ["::", /unspecified/], ["127.0.0.1", /loopback/], ["::1", /loopback/], ["224.0.0.1", /multicast/], ["fe80::1", /link-local/]] as const) {
        errorFor(third({ address }), "hosts[2].address", address, why);
    }
    errorFor({ hosts: [{ address: "fd00::1" }, { address: "fd00:0:0::2" }, { address: "FD00::0:1" }].map((h, i) => ({ ...hosts(3)[i], ...h })) },
        "hosts[2].address", "FD00::0:1", /unique \(fd00::1 is listed twice\)/);
    for (const port of ["0x16", "1e1", " 22", "22.0", "0", "65536", -1]) errorFor(third({ port }), "hosts[2].port", String(port), /port number 1-65535 in plain digits/);
    assert.deepEqual(validate(third({ port: "2222" })).errors, []);
    errorFor(third({ adress: "10.0.0.9" }), "hosts[2].adress", "10.0.0.9", /unknown key "adress"; allowed keys: name, address, user, port, hostKey/);
});

test("hosts may carry DNS names, checked and lower-cased; a wildcard, an IP, a localhost name or a name given twice is refused by key", () => {
    const third = (dnsNames: unknown, first: Record<string, unknown> = {}) =>
        ({ hosts: [{ ...hosts(1)[0], ...first }, hosts(2)[1], { ...hosts(3)[2], dnsNames }] });
    const { target, errors } = validate(third(["Etcd-3.Example.com", "etcd-3"]));
    assert.deepEqual(errors, []);
    assert.deepEqual(target!.kind === "hosts" && target!.hosts.map((h) => h.dnsNames), [undefined, undefined, ["etcd-3.example.com", "etcd-3"]]);
    for (const bad of ["*.example.com", "etcd-3.example.com.", "10.0.0.3", "etcd_3.example.com", "-etcd.example.com", `${"a".repeat(64)}.example.com`, "", 7]) {
        errorFor(third([bad]), "hosts[2].dnsNames[0]", JSON.stringify(bad), /expected a DNS name \(RFC 1123.*no wildcard, no trailing dot\)/);
    }
    errorFor(third(["localhost"]), "hosts[2].dnsNames[0]", "localhost", /reaches only the client's own machine/);
    errorFor(third("etcd-3.example.com"), "hosts[2].dnsNames", "etcd-3.example.com", /expected a list of DNS names/);
    errorFor(third(["a.example.com", "A.example.com"]), "hosts[2].dnsNames[1]", "A.example.com", /also listed at hosts\[2\]\.dnsNames\[0\].*extraSans/);
    errorFor(third(["db.example.com"], { dnsNames: ["db.example.com"] }), "hosts[2].dnsNames[0]", "db.example.com", /also listed at hosts\[0\]\.dnsNames\[0\]/);
    errorFor(third(["etcd-1"]), "hosts[2].dnsNames[0]", "etcd-1", /name of member etcd-1/);
});

test("every host needs its SSH host key, well formed, so no connection trusts whoever answers", () => {
    const third = (entry: Record<string, unknown>) => ({ hosts: [...hosts(2), { name: "etcd-3", address: "10.0.0.3", ...entry }] });
    errorFor(third({}), "hosts[2].hostKey", "null", /SSH public key as one line.*ssh-keyscan/);
    const ed25519 = testHostKey(3);
    for (const bad of ["AAAA", "ssh-ed25519", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", `ssh-rsa ${ed25519.split(" ")[1]}`, `${ed25519.slice(0, 40)}`]) {
        errorFor(third({ hostKey: bad }), "hosts[2].hostKey", bad, /SSH public key as one line/);
    }
    const { target, errors } = validate(third({ hostKey: `  ${ed25519} root@etcd-3 ` }));
    assert.deepEqual(errors, []);
    assert.equal(target!.kind === "hosts" && target!.hosts[2].hostKey, ed25519, "the key is kept without its comment");
});

test("the gcp target reads its own section: without one, it names what is missing", () => {
    errorFor({ target: "gcp" }, "gcp.project", "is not set", /the id of the Google Cloud project/);
});

test("enableV2 is accepted with a deprecation warning on etcd 3.5 and refused on 3.6, which removed the v2 API", () => {
    const on35 = validate({ enableV2: "true", etcdVersion: "3.5.27" });
    assert.deepEqual(on35.errors, []);
    assert.match(on35.warnings.join("\n"), /enableV2 .*deprecated v2 API/);
    errorFor({ enableV2: true, etcdVersion: "3.6.14" }, "enableV2", "true", /etcd 3\.6 removed it/);
});

test("numeric settings have sensible minimums and are written in plain digits", () => {
    errorFor({ quotaBackendBytes: "1" }, "quotaBackendBytes", "1", /at least 256 MiB/);
    errorFor({ snapshotCount: 1 }, "snapshotCount", "1", /1000-10000000/);
    errorFor({ snapshotCount: "1e4" }, "snapshotCount", "1e4", /1000-10000000/);
    for (const retention of ["0", "0h", "0m0s"]) errorFor({ autoCompactionRetention: retention }, "autoCompactionRetention", retention, /0 would turn compaction off/);
    errorFor({ autoCompactionMode: "revision", autoCompactionRetention: "0" }, "autoCompactionRetention", "0", /positive whole number/);
    assert.deepEqual(validate({ autoCompactionRetention: "30m" }).errors, []);
});

test("unknown size, target and key algorithm list what is allowed", () => {
    errorFor({ size: "huge" }, "size", "huge", /small, medium, large, xlarge/);
    errorFor({ target: "azure" }, "target", "azure", /hosts, aws, gcp/);
    errorFor({ keyAlgorithm: "ECDSA-P224" }, "keyAlgorithm", "ECDSA-P224", /ECDSA-P256/);
});

test("etcd versions: malformed, end of life and data-loss releases are refused; old patches warned", () => {
    errorFor({ etcdVersion: "v3.6.14" }, "etcdVersion", "v3.6.14", /like 3\.6\.14/);
    errorFor({ etcdVersion: "3.4.23" }, "etcdVersion", "3.4.23", /end of life/);
    for (const v of ["3.5.0", "3.5.1", "3.5.2"]) errorFor({ etcdVersion: v }, "etcdVersion", v, /data-inconsistency/);
    const old = validate({ etcdVersion: "3.5.30", etcdSha256: "d".repeat(64) });
    assert.deepEqual(old.errors, []);
    assert.match(old.warnings.join("\n"), /3\.5\.30 lacks security fixes released in 3\.5\.33/);
    assert.deepEqual(checkVersion("3.6.14").warnings, []);
});

test("a missing SSH key and a missing archive are refused", () => {
    const { errors } = validate({}, false);
    assert.ok(errors.some((e) => e.startsWith("etcd-cluster:sshPrivateKey:") && /--secret/.test(e)), errors.join(" | "));
    errorFor({ etcdArchive: "missing/etcd-v3.6.14-linux-amd64.tar.gz.bak" }, "etcdArchive", "/work/missing/etcd-v3.6.14-linux-amd64.tar.gz.bak", /does not exist/);
    errorFor({ etcdArchive: "etcd-v3.5.30-linux-amd64.tar.gz" }, "etcdArchive", "etcd-v3.5.30", /must match/);
    assert.deepEqual(validate({ etcdArchive: "etcd-v3.6.14-linux-amd64.tar.gz" }).errors, []);
});

test("releases are trusted only by a checksum that did not come from the mirror: https only, pinned or configured SHA-256", () => {
    errorFor({ etcdDownloadUrl: "http://mirror.example.com/etcd" }, "etcdDownloadUrl", "http://mirror.example.com/etcd", /https URL.*plain http is refused/);
    assert.deepEqual(validate({ etcdDownloadUrl: "https://mirror.example.com/etcd/" }).errors, []);
    errorFor({ etcdVersion: "3.6.13" }, "etcdSha256", "3.6.13", /no checksum pinned.*pinned: 3\.5\.3–3\.5\.27, 3\.6\.14.*pulumi config set etcdSha256/);
    assert.deepEqual(validate({ etcdVersion: "3.6.13", etcdSha256: "AB".repeat(32) }).errors, []);
    assert.equal(validate({ etcdVersion: "3.6.13", etcdSha256: "AB".repeat(32) }).config!.etcdSha256, "ab".repeat(32));
    errorFor({ etcdSha256: "sha256:abc" }, "etcdSha256", "sha256:abc", /64 hex digits/);
    const rebuilt = validate({ etcdSha256: "d".repeat(64) });
    assert.match(rebuilt.warnings.join("\n"), /etcdSha256 is not the published checksum of any etcd 3\.6\.14 release tarball/);
});

test("an offline archive is checked against the pinned (or configured) checksum: a tampered file with an official name is refused", () => {
    const tampered = "tampered/etcd-v3.6.14-linux-amd64.tar.gz";
    errorFor({ etcdArchive: tampered }, "etcdArchive", "/work/tampered/etcd-v3.6.14-linux-amd64.tar.gz",
        new RegExp(`its SHA-256 is ${TAMPERED}, but the published checksum of etcd-v3\\.6\\.14-linux-amd64\\.tar\\.gz is ${OFFICIAL_3_6_14_AMD64}`));
    errorFor({ etcdArchive: tampered, etcdSha256: "d".repeat(64) }, "etcdArchive", tampered, /etcd-cluster:etcdSha256 is d{64}/);
    assert.deepEqual(validate({ etcdArchive: "etcd-v3.5.30-linux-amd64.tar.gz", etcdVersion: "3.5.30", etcdSha256: "d".repeat(64) }).errors, []);
});

test("election timeout below 5 x heartbeat and quota above 8 GiB are refused", () => {
    errorFor({ heartbeatIntervalMs: 200, electionTimeoutMs: 999 }, "electionTimeoutMs", "999", /at least 5 × etcd-cluster:heartbeatIntervalMs \(1000\)/);
    errorFor({ quotaBackendBytes: String(9 * 1024 ** 3) }, "quotaBackendBytes", String(9 * 1024 ** 3), /at most 8 GiB/);
});

test("data and WAL directories: never a system directory, this program's own, each other, or an odd spelling", () => {
    errorFor({ walDir: "/var/lib/etcd/wal" }, "walDir", "/var/lib/etcd/wal", /neither inside nor around etcd-cluster:dataDir/);
    errorFor({ dataDir: "/var/lib/etcd-wal/data" }, "walDir", "/var/lib/etcd-wal", /neither inside nor around/);
    errorFor({ dataDir: "var/lib/etcd" }, "dataDir", "var/lib/etcd", /absolute path/);
    for (const dir of ["/", "/etc", "/usr", "/var", "/var/lib", "/opt", "/srv"]) errorFor({ dataDir: dir }, "dataDir", dir, /is or contains the system directory/);
    for (const dir of ["/root/etcd", "/tmp/etcd", "/proc/self", "/etc/etcd/pki", "/home/etcd", "/opt/etcd/data", "/var/lib/etcd-cluster/x", "/run/etcd"]) {
        errorFor({ dataDir: dir }, "dataDir", dir, /is inside \/[a-z]/);
    }
    for (const dir of ["/.", "/var//lib", "/var/lib//etcd", "/var/lib/etcd/", "/var/lib/../etc", "/var/lib/./etcd"]) {
        errorFor({ dataDir: dir }, "dataDir", dir, /no empty, '\.' or '\.\.' components/);
    }
    assert.deepEqual(validate({ dataDir: "/srv/etcd-data", walDir: "/srv/etcd-wal" }).errors, []);
});

test("SANs and client names are checked", () => {
    errorFor({ extraSans: ["etcd.example.com", "bad san"] }, "extraSans[1]", "bad san", /IP address or a DNS name/);
    errorFor({ extraSans: ["*.example.com"] }, "extraSans[0]", "*.example.com", /no wildcards/);
    errorFor({ clientCertificates: ["kube-apiserver", "root"] }, "clientCertificates[1]", "root", /admin certificate/);
});

test("every problem is reported at once", () => {
    const { errors } = validate({ nodeCount: 4, size: "tiny", etcdVersion: "3.5.1", electionTimeoutMs: 100 }, false);
    for (const key of ["nodeCount", "size", "etcdVersion", "electionTimeoutMs", "sshPrivateKey"]) {
        assert.ok(errors.some((e) => e.startsWith(`etcd-cluster:${key}:`)), `${key} missing from ${errors.join(" | ")}`);
    }
});

test("bad stack config stops the program before any resource is registered", () => {
    const run = runProgram(hostsConfig(3, { nodeCount: 4 }));
    assert.match(run.error ?? "", /invalid stack configuration .*\n.*etcd-cluster:nodeCount: 4/);
    assert.deepEqual(run.resources, []);
});

test("Pulumi.yaml declares every key with a description and the same defaults as the code", () => {
    const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, { description?: string; default?: unknown }> };
    assert.equal(project.name, "etcd-cluster");
    for (const [key, value] of Object.entries(DEFAULTS)) {
        assert.equal(String(project.config[key]?.default), String(value), `default of ${key}`);
    }
    for (const [key, decl] of Object.entries(project.config)) assert.ok(decl.description, `${key} has no description`);
    // `hosts` and `clientCertificates` (lists of objects), `aws`, `gcp`, `preflight` and `backup` (objects) are beyond what the
    // project file's schema can type: its header comment describes them, and the README documents them.
    const untyped: readonly string[] = ["hosts", "aws", "gcp", "preflight", "clientCertificates", "backup"];
    for (const key of [...CONFIG_KEYS.filter((k) => !untyped.includes(k)), "sshPrivateKey"]) assert.ok(project.config[key], `${key} is not declared`);
    const header = fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8").split("\nconfig:")[0];
    for (const key of untyped) assert.ok(header.includes(`# - \`${key}\``), `${key} is not described in Pulumi.yaml's header comment`);
});

test("certificate renewal and expiry margins must leave room for each other", () => {
    const { config } = validate({});
    assert.deepEqual([config!.certRenewBeforeDays, config!.certExpiryMarginDays], [30, 14]);
    errorFor({ certValidityDays: 30 }, "certRenewBeforeDays", "30", /below etcd-cluster:certValidityDays \(30\)/);
    errorFor({ certExpiryMarginDays: 30 }, "certExpiryMarginDays", "30", /below etcd-cluster:certRenewBeforeDays \(30\)/);
    errorFor({ certRenewBeforeDays: 0 }, "certRenewBeforeDays", "0", /at least 1/);
});

test("the health gate member must be one of the hosts", () => {
    assert.equal(validate({}).config!.healthGateMember, undefined, "unset: the first member runs it");
    assert.equal(validate({ healthGateMember: "etcd-2" }).config!.healthGateMember, "etcd-2");
    errorFor({ healthGateMember: "etcd-9" }, "healthGateMember", "etcd-9", /etcd-1, etcd-2, etcd-3/);
});
