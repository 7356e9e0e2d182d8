import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, DEFAULTS, RawConfig, validateConfig } from "../components/config";
import { checkVersion } from "../components/versions";
import { hostsConfig, runProgram } from "./support/program";

const exists = (p: string) => p.endsWith("etcd-v3.6.14-linux-amd64.tar.gz") || p.endsWith("etcd-v3.5.30-linux-amd64.tar.gz");

function hosts(n: number): Array<Record<string, unknown>> {
    return Array.from({ length: n }, (_, i) => ({ name: `etcd-${i + 1}`, address: `10.0.0.${i + 1}` }));
}

function validate(overrides: RawConfig, sshKeySet = true) {
    const n = typeof overrides.nodeCount === "number" ? overrides.nodeCount : 3;
    return validateConfig({ hosts: hosts(Math.max(n, 0) || 3), ...overrides }, { sshKeySet, fileExists: exists, cwd: "/work" });
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
    const { config, errors } = validate({});
    assert.deepEqual(errors, []);
    assert.equal(config!.nodeCount, 3);
    assert.equal(config!.size, "small");
    assert.equal(config!.etcdVersion, "3.6.14");
    assert.equal(config!.quotaBackendBytes, 2 * 1024 ** 3);
    assert.deepEqual(config!.hosts[0], { name: "etcd-1", address: "10.0.0.1", user: "root", port: 22 });
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
    errorFor({ hosts: [...hosts(2), { name: "etcd-1", address: "10.0.0.9" }] }, "hosts[2].name", "etcd-1", /unique/);
    errorFor({ hosts: [...hosts(2), { name: "Etcd_3", address: "10.0.0.9" }] }, "hosts[2].name", "Etcd_3", /DNS-1123 label/);
    errorFor({ hosts: [...hosts(2), { name: "etcd-3", address: "10.0.0.1" }] }, "hosts[2].address", "10.0.0.1", /unique/);
    errorFor({ hosts: [...hosts(2), { name: "etcd-3", address: "300.1.1.1!" }] }, "hosts[2].address", "300.1.1.1!", /IPv4 or IPv6 address or a DNS name/);
    assert.deepEqual(validate({ hosts: [...hosts(2), { name: "etcd-3", address: "fd00::3", port: 2222, user: "admin" }] }).errors, []);
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
    const old = validate({ etcdVersion: "3.5.30" });
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

test("election timeout below 5 x heartbeat and quota above 8 GiB are refused", () => {
    errorFor({ heartbeatIntervalMs: 200, electionTimeoutMs: 999 }, "electionTimeoutMs", "999", /at least 5 × etcd-cluster:heartbeatIntervalMs \(1000\)/);
    errorFor({ quotaBackendBytes: String(9 * 1024 ** 3) }, "quotaBackendBytes", String(9 * 1024 ** 3), /at most 8 GiB/);
});

test("paths, SANs and client names are checked", () => {
    errorFor({ walDir: "/var/lib/etcd/wal" }, "walDir", "/var/lib/etcd/wal", /outside etcd-cluster:dataDir/);
    errorFor({ dataDir: "var/lib/etcd" }, "dataDir", "var/lib/etcd", /absolute path/);
    errorFor({ extraSans: ["etcd.example.com", "bad san"] }, "extraSans[1]", "bad san", /IP address or a DNS name/);
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
    // `hosts` (a list of objects) and `preflight` (an object) cannot be typed by the project file's schema; the README documents them.
    for (const key of [...CONFIG_KEYS.filter((k) => k !== "hosts" && k !== "preflight"), "sshPrivateKey"]) assert.ok(project.config[key], `${key} is not declared`);
});
