/**
 * The guards in the program: they run before anything is made or changed, the CA waits for them and is protected,
 * and they carry what they compare. Checked on the registrations the engine would receive.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { byType, hostsConfig, named, runProgram } from "./support/program";

const members = ["etcd-1", "etcd-2", "etcd-3"];

test("every guard passes before any key, certificate, upload, install or file: a refusal changes nothing", () => {
    const run = runProgram(hostsConfig(3, { etcdVersion: "3.5.30", etcdSha256: "ab".repeat(32), dataDir: "/data/etcd", keyAlgorithm: "ECDSA-P384" }));
    assert.equal(run.error, undefined);
    const preflights = members.map((m) => named(run, `${m}-preflight`));
    const trusts = members.map((m) => named(run, `${m}-trust`));
    const lastPreflight = Math.max(...preflights.map((p) => p.finished));
    for (const r of run.resources.filter((x) => x.type.startsWith("tls:"))) {
        assert.ok(r.started > lastPreflight, `${r.name} waits for every preflight`);
    }
    const lastTrust = Math.max(...trusts.map((t) => t.finished));
    for (const r of run.resources.filter((x) => x.type.startsWith("command:") && !/-(preflight|trust)$/.test(x.name))) {
        assert.ok(r.started > lastTrust, `${r.name} waits for every trust check`);
    }
    for (const t of trusts) assert.ok(t.started > named(run, "etcd-ca-cert").finished, `${t.name} compares the CA that exists`);
    for (const p of preflights) {
        const script = String(p.inputs.create);
        assert.match(script, /target='3\.5\.30'/);
        assert.match(script, /data_dir='\/data\/etcd'/);
        assert.match(script, /KEY_ALGORITHM\)" != 'ECDSA-P384'/);
        assert.match(script, /STACK\)" != 'dev'/);
    }
    for (const t of trusts) assert.match(String(t.inputs.create), /FAKE CERT etcd-ca-cert/);
    assert.equal(byType(run, "command:remote:Command").filter((c) => /-(preflight|trust)$/.test(c.name)).length, 6);
});

test("the CA key and certificate are protected and made only after the guards; leaf keys wait for them too", async () => {
    const requests: Array<{ name: string; protect: boolean; dependencies: string[] }> = [];
    await pulumi.runtime.setMocks({
        newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, privateKeyPem: "k", certPem: "c", publicKeyFingerprintSha256: "fp" } }),
        call: (args) => args.inputs,
    }, "etcd-cluster", "dev", false);
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: unknown, cb: unknown) => unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        const r = req as { getName(): string; getProtect(): boolean; getDependenciesList(): string[] };
        requests.push({ name: r.getName(), protect: r.getProtect(), dependencies: r.getDependenciesList() });
        return register(req, cb);
    };
    const { EtcdCa } = await import("../components/pki");
    const guard = new command.remote.Command("etcd-1-preflight", { connection: { host: "192.0.2.11" }, create: "true" });
    const ca = new EtcdCa("etcd-ca", { stack: "dev", keyAlgorithm: "ECDSA-P256", validityDays: 3650, after: [guard] });
    const leaf = ca.issue("etcd-1-server", { commonName: "etcd-1", organizationalUnit: "dev", allowedUses: ["server_auth"], sans: { dnsNames: [], ipAddresses: [] } }, 365, "0", ca);
    await new Promise((resolve) => pulumi.all([ca.certPem, leaf.certPem]).apply(resolve));
    const guardUrn = await new Promise<string>((resolve) => guard.urn.apply(resolve));
    const request = (name: string) => requests.find((r) => r.name === name)!;
    assert.equal(request("etcd-ca-key").protect, true);
    assert.equal(request("etcd-ca-cert").protect, true);
    assert.equal(request("etcd-1-server-key").protect, false, "leaf keys are rotated, so they are not protected");
    assert.ok(request("etcd-ca-key").dependencies.includes(guardUrn), "the CA key waits for the guards");
    assert.ok(request("etcd-1-server-key").dependencies.includes(guardUrn), "leaf keys wait for the guards");
});
