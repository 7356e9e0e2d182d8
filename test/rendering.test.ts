import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateConfig } from "../components/config";
import { bootstrapEnvironment, memberEnvironment, renderEnvironmentFile } from "../components/environment";
import { planMember } from "../components/plan";
import { renderApplyScript } from "../components/scripts/apply";
import { renderConfigureScript } from "../components/scripts/configure";
import { renderPrepareDisksScript } from "../components/scripts/disks";
import { renderGateScript } from "../components/scripts/health";
import { renderInstallScript } from "../components/scripts/install";
import { renderPreflightScript } from "../components/scripts/preflight";
import { remoteCommand } from "../components/scripts/remote";
import { renderUnit } from "../components/unit";
import { SIZES, loadTiers } from "../sizing";

const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `10.0.0.${i}` }));
const members = hosts.map((h) => planMember(h.name, h.address));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-render-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function configFor(size: string, version = "3.6.14") {
    const { config, errors } = validateConfig({ hosts, size, etcdVersion: version }, { sshKeySet: true });
    assert.deepEqual(errors, []);
    return config!;
}

function tool(cmd: string, args: string[]): { status: number | null; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error) throw new Error(`${cmd} is required for this test (install it: see .ci/run): ${r.error.message}`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

for (const size of SIZES) {
    test(`the ${size} tier renders a unit that systemd accepts and an environment with the tier's settings`, () => {
        const config = configFor(size);
        const tier = loadTiers()[size];
        const unit = renderUnit({ memberName: "etcd-1", etcdVersion: config.etcdVersion, dataDir: config.dataDir, walDir: config.walDir, gomaxprocs: tier.etcd.gomaxprocs, mountPoints: [config.dataDir, config.walDir] });
        for (const line of ["Type=notify", "User=etcd", "Restart=on-failure", "LimitNOFILE=65536", "IOSchedulingClass=best-effort", "IOSchedulingPriority=0",
            `Environment=GOMAXPROCS=${tier.etcd.gomaxprocs}`, "ExecStart=/opt/etcd/v3.6.14/etcd --data-dir=/var/lib/etcd", "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/etcd /var/lib/etcd-wal", "NoNewPrivileges=yes",
            "RequiresMountsFor=/var/lib/etcd /var/lib/etcd-wal", "AssertPathIsMountPoint=/var/lib/etcd", "AssertPathIsMountPoint=/var/lib/etcd-wal"]) {
            assert.ok(unit.split("\n").includes(line), `unit lacks ${line}`);
        }
        // systemd-analyze wants the binary to exist: verify a copy pointing at a stand-in executable.
        const exe = path.join(tmp, "etcd");
        fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
        const file = path.join(tmp, "etcd.service");
        fs.writeFileSync(file, unit.replace("/opt/etcd/v3.6.14/etcd", exe));
        const verify = tool("systemd-analyze", ["verify", file]);
        assert.equal(verify.status, 0, verify.out);
        assert.equal(verify.out.trim(), "", `systemd-analyze verify complained:\n${verify.out}`);

        const env = memberEnvironment(members[0], config);
        assert.equal(env.ETCD_QUOTA_BACKEND_BYTES, String(tier.etcd.quotaBackendBytes));
        assert.equal(env.ETCD_HEARTBEAT_INTERVAL, "100");
        assert.equal(env.ETCD_ELECTION_TIMEOUT, "1000");
    });
}

test("CIS etcd 2.1-2.7 hold in the form kube-bench reads (command line and environment)", () => {
    const config = configFor("small");
    const env = memberEnvironment(members[0], config);
    const execStart = renderUnit({ memberName: "etcd-1", etcdVersion: "3.6.14", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", gomaxprocs: 2 })
        .split("\n").find((l) => l.startsWith("ExecStart="))!;
    assert.ok(env.ETCD_CERT_FILE && env.ETCD_KEY_FILE, "2.1 cert-file and key-file");
    assert.equal(env.ETCD_CLIENT_CERT_AUTH, "true", "2.2 client-cert-auth");
    assert.equal(env.ETCD_AUTO_TLS, "false", "2.3 auto-tls");
    assert.ok(env.ETCD_PEER_CERT_FILE && env.ETCD_PEER_KEY_FILE, "2.4 peer cert and key");
    assert.equal(env.ETCD_PEER_CLIENT_CERT_AUTH, "true", "2.5 peer-client-cert-auth");
    assert.equal(env.ETCD_PEER_AUTO_TLS, "false", "2.6 peer-auto-tls");
    assert.equal(env.ETCD_TRUSTED_CA_FILE, env.ETCD_PEER_TRUSTED_CA_FILE, "2.7 one CA, the cluster's own");
    assert.match(execStart, / --data-dir=\/var\/lib\/etcd$/, "kube-bench finds the data dir only as a literal flag");
    assert.equal(env.ETCD_DATA_DIR, undefined, "an option set both as flag and variable is an error in etcd 3.4+");
    assert.ok(Object.values(env).every((v) => !v.startsWith("http://") || v === "http://127.0.0.1:2381"), "plaintext only for local metrics");
    assert.match(env.ETCD_LISTEN_CLIENT_URLS, /^https:\/\/10\.0\.0\.1:2379,https:\/\/127\.0\.0\.1:2379$/);
});

test("bootstrap-only settings live apart, with every member and a cluster token", () => {
    const env = bootstrapEnvironment(members, "etcd-cluster-dev-0123456789abcdef");
    assert.equal(env.ETCD_INITIAL_CLUSTER, "etcd-1=https://10.0.0.1:2380,etcd-2=https://10.0.0.2:2380,etcd-3=https://10.0.0.3:2380");
    assert.equal(env.ETCD_INITIAL_CLUSTER_STATE, "new");
    assert.equal(env.ETCD_INITIAL_CLUSTER_TOKEN, "etcd-cluster-dev-0123456789abcdef");
    assert.equal(Object.keys(memberEnvironment(members[0], configFor("small"))).filter((k) => k in env).length, 0);
});

test("the corruption checks are switched on with the flag names of each etcd line", () => {
    assert.equal(memberEnvironment(members[0], configFor("small", "3.5.33")).ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK, "true");
    const six = memberEnvironment(members[0], configFor("small", "3.6.14"));
    assert.equal(six.ETCD_FEATURE_GATES, "InitialCorruptCheck=true,CompactHashCheck=true");
    assert.equal(Object.keys(six).filter((k) => k.startsWith("ETCD_EXPERIMENTAL")).length, 0);
    assert.throws(() => renderEnvironmentFile({ ETCD_NAME: "a b" }, "x"), /needs quoting/);
});

test("every remote script passes shellcheck, as bash and inside its POSIX sh wrapper", () => {
    const config = configFor("small");
    const health = { etcdVersion: "3.6.14", endpoints: members.map((m) => m.clientUrl) };
    const scripts: Record<string, string> = {
        "install-download": renderInstallScript("3.6.14", { kind: "download", baseUrl: config.etcdDownloadUrl }),
        "install-archive": renderInstallScript("3.6.14", { kind: "archive", fileName: "etcd-v3.6.14-linux-amd64.tar.gz", sha256: "ab".repeat(32) }),
        configure: renderConfigureScript({
            memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal",
            inlineFiles: [{ path: "/etc/etcd/etcd.env", mode: "640", owner: "root:etcd", content: renderEnvironmentFile(memberEnvironment(members[0], config), "t") }],
            stdinFiles: [{ path: "/etc/etcd/pki/server.key", mode: "600", owner: "etcd:etcd", fingerprint: "x" }],
        }),
        apply: renderApplyScript({ ...health, memberName: "etcd-1", clientUrl: members[0].clientUrl, dataDir: "/var/lib/etcd", configurationDigest: "abc", timeoutSeconds: 60 }),
        gate: renderGateScript({ ...health, timeoutSeconds: 60 }),
        disks: renderPrepareDisksScript({ memberName: "etcd-1", disks: [
            { role: "data", device: "/dev/disk/by-id/virtio-data", mountPoint: "/var/lib/etcd" },
            { role: "wal", device: "/dev/disk/by-id/virtio-wal", mountPoint: "/var/lib/etcd-wal" },
        ] }),
        preflight: renderPreflightScript({ memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", walFsyncP99Ms: 10, waive: { timeSync: "a reason" }, requiredDataBytes: 2 ** 31 }),
    };
    for (const [name, script] of Object.entries(scripts)) {
        const inner = path.join(tmp, `${name}.bash`);
        fs.writeFileSync(inner, `#!/usr/bin/env bash\n${script}`);
        const bash = tool("shellcheck", ["--severity=style", inner]);
        assert.equal(bash.status, 0, `${name}:\n${bash.out}`);
        for (const user of ["root", "admin"]) {
            const wrapper = path.join(tmp, `${name}-${user}.sh`);
            fs.writeFileSync(wrapper, remoteCommand(script, { user, label: name }));
            const sh = tool("shellcheck", ["--shell=sh", "--severity=style", wrapper]);
            assert.equal(sh.status, 0, `${name} wrapper (${user}):\n${sh.out}`);
        }
    }
});
