import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateConfig } from "../components/config";
import { memberEnvironment, renderEnvironmentFile } from "../components/environment";
import { initialCluster, planMember } from "../components/plan";
import { authPlan } from "../components/clients";
import { renderApplyScript } from "../components/scripts/apply";
import { renderAuthScript } from "../components/scripts/auth";
import { renderConfigureScript, WRITE_FILE } from "../components/scripts/configure";
import { renderPrepareDisksScript } from "../components/scripts/disks";
import { renderPreflightScript, renderTrustScript } from "../components/scripts/guards";
import { certificateExpiryCheck, renderGateScript } from "../components/scripts/health";
import { renderReconcileScript, renderRetireScript, renderSurveyScript } from "../components/scripts/membership";
import { renderInstallScript } from "../components/scripts/install";
import { renderMachineChecksScript } from "../components/scripts/preflight";
import { remoteCommand } from "../components/scripts/remote";
import { expectedSha256 } from "../components/releaseChecksums";
import { renderUnit } from "../components/unit";
import { SIZES, loadTiers } from "../sizing";
import { testHostKey } from "./support/program";

const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `10.0.0.${i}`, hostKey: testHostKey(i) }));
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
        const unit = renderUnit({ memberName: "etcd-1", dataDir: config.dataDir, walDir: config.walDir, gomaxprocs: tier.etcd.gomaxprocs, mountPoints: [config.dataDir, config.walDir] });
        for (const line of ["Type=notify", "User=etcd", "Restart=on-failure", "LimitNOFILE=65536", "IOSchedulingClass=best-effort", "IOSchedulingPriority=0",
            `Environment=GOMAXPROCS=${tier.etcd.gomaxprocs}`, "ExecStart=/etc/etcd/current/etcd --data-dir=/var/lib/etcd", "EnvironmentFile=/etc/etcd/current/etcd.env", "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/etcd /var/lib/etcd-wal", "NoNewPrivileges=yes",
            "RequiresMountsFor=/var/lib/etcd /var/lib/etcd-wal", "AssertPathIsMountPoint=/var/lib/etcd", "AssertPathIsMountPoint=/var/lib/etcd-wal"]) {
            assert.ok(unit.split("\n").includes(line), `unit lacks ${line}`);
        }
        // systemd-analyze wants the binary to exist: verify a copy pointing at a stand-in executable.
        const exe = path.join(tmp, "etcd");
        fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
        const file = path.join(tmp, "etcd.service");
        fs.writeFileSync(file, unit.replace("/etc/etcd/current/etcd ", `${exe} `));
        const verify = tool("systemd-analyze", ["verify", file]);
        assert.equal(verify.status, 0, verify.out);
        assert.equal(verify.out.trim(), "", `systemd-analyze verify complained:\n${verify.out}`);

        const env = memberEnvironment(members[0], config);
        assert.equal(env.ETCD_QUOTA_BACKEND_BYTES, String(tier.etcd.quotaBackendBytes));
        assert.equal(env.ETCD_HEARTBEAT_INTERVAL, "100");
        assert.equal(env.ETCD_ELECTION_TIMEOUT, "1000");
    });
}

test("the unit carries the sandboxing etcd tolerates: systemd rates its exposure at most 1.5 (3.0 before), OOM-protected, after time sync", () => {
    const unit = renderUnit({ memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", gomaxprocs: 2 });
    const lines = unit.split("\n");
    for (const line of ["OOMScoreAdjust=-999", "SystemCallFilter=@system-service", "SystemCallFilter=~@privileged", "SystemCallErrorNumber=EPERM",
        "ProtectProc=invisible", "ProcSubset=pid", "PrivateMounts=yes", "PrivateUsers=yes", "RemoveIPC=yes", "AmbientCapabilities="]) {
        assert.ok(lines.includes(line), `unit lacks ${line}`);
    }
    assert.match(lines.find((l) => l.startsWith("After="))!, /\btime-sync\.target\b/);
    const file = path.join(tmp, "security", "etcd.service");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, unit);
    const security = tool("systemd-analyze", ["security", "--offline=true", "--no-pager", file]);
    const exposure = /Overall exposure level for etcd\.service: (\d+\.\d)/.exec(security.out);
    assert.ok(exposure, security.out);
    assert.ok(Number(exposure[1]) <= 1.5, `exposure ${exposure[1]}`);
});

test("CIS etcd 2.1-2.7 hold in the form kube-bench reads (command line and environment)", () => {
    const config = configFor("small");
    const env = memberEnvironment(members[0], config);
    const execStart = renderUnit({ memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", gomaxprocs: 2 })
        .split("\n").find((l) => l.startsWith("ExecStart="))!;
    assert.ok(env.ETCD_CERT_FILE && env.ETCD_KEY_FILE, "2.1 cert-file and key-file");
    assert.equal(env.ETCD_CLIENT_CERT_AUTH, "true", "2.2 client-cert-auth");
    assert.equal(env.ETCD_AUTO_TLS, "false", "2.3 auto-tls");
    assert.ok(env.ETCD_PEER_CERT_FILE && env.ETCD_PEER_KEY_FILE, "2.4 peer cert and key");
    assert.equal(env.ETCD_PEER_CLIENT_CERT_AUTH, "true", "2.5 peer-client-cert-auth");
    assert.equal(env.ETCD_PEER_AUTO_TLS, "false", "2.6 peer-auto-tls");
    assert.deepEqual([env.ETCD_TRUSTED_CA_FILE, env.ETCD_PEER_TRUSTED_CA_FILE], ["/etc/etcd/current/pki/ca.crt", "/etc/etcd/current/pki/peer-ca.crt"],
        "2.7 CAs of this cluster's own; peers trust only theirs, so no client certificate is a peer");
    assert.match(execStart, / --data-dir=\/var\/lib\/etcd$/, "kube-bench finds the data dir only as a literal flag");
    assert.equal(env.ETCD_DATA_DIR, undefined, "an option set both as flag and variable is an error in etcd 3.4+");
    assert.ok(Object.values(env).every((v) => !v.startsWith("http://") || v === "http://127.0.0.1:2381"), "plaintext only for local metrics");
    assert.match(env.ETCD_LISTEN_CLIENT_URLS, /^https:\/\/10\.0\.0\.1:2379,https:\/\/127\.0\.0\.1:2379$/);
});

test("TLS 1.2 is limited to forward-secret AEAD suites, with TLS 1.3 left on", () => {
    const env = memberEnvironment(members[0], configFor("small"));
    assert.equal(env.ETCD_TLS_MIN_VERSION, "TLS1.2");
    assert.equal(env.ETCD_TLS_MAX_VERSION, undefined, "Go's maximum, TLS 1.3, stays on");
    const suites = env.ETCD_CIPHER_SUITES.split(",");
    assert.ok(suites.length > 0);
    for (const suite of suites) assert.match(suite, /^TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/, suite);
});

test("a member's DNS names are advertised to clients after its address; etcd listens and peers on the address only", () => {
    const named = planMember("etcd-1", "10.0.0.1", ["etcd-1.example.com", "db1.example.com"]);
    const env = memberEnvironment(named, configFor("small"));
    assert.equal(env.ETCD_ADVERTISE_CLIENT_URLS, "https://10.0.0.1:2379,https://etcd-1.example.com:2379,https://db1.example.com:2379");
    assert.equal(env.ETCD_LISTEN_CLIENT_URLS, "https://10.0.0.1:2379,https://127.0.0.1:2379");
    assert.equal(env.ETCD_LISTEN_PEER_URLS, "https://10.0.0.1:2380");
    assert.equal(env.ETCD_INITIAL_ADVERTISE_PEER_URLS, "https://10.0.0.1:2380");
    assert.equal(initialCluster([named, ...members.slice(1)]).split(",")[0], "etcd-1=https://10.0.0.1:2380");
    assert.match(renderEnvironmentFile(env, "etcd-1"), /^ETCD_ADVERTISE_CLIENT_URLS=https:\/\/10\.0\.0\.1:2379,https:\/\/etcd-1\.example\.com:2379,/m);
    assert.equal(memberEnvironment(members[0], configFor("small")).ETCD_ADVERTISE_CLIENT_URLS, "https://10.0.0.1:2379", "no names: the address alone");
});

test("the corruption checks are switched on with the flag names of each etcd line", () => {
    assert.equal(memberEnvironment(members[0], configFor("small", "3.5.27")).ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK, "true");
    const six = memberEnvironment(members[0], configFor("small", "3.6.14"));
    assert.equal(six.ETCD_FEATURE_GATES, "InitialCorruptCheck=true,CompactHashCheck=true");
    assert.equal(Object.keys(six).filter((k) => k.startsWith("ETCD_EXPERIMENTAL")).length, 0);
    assert.throws(() => renderEnvironmentFile({ ETCD_NAME: "a b" }, "x"), /needs quoting/);
});

test("every remote script passes shellcheck, as bash and inside its POSIX sh wrapper", () => {
    const config = configFor("small");
    const health = { etcdVersion: "3.6.14", members, certificates: "/etc/etcd/current" };
    const recipe = { keyAlgorithm: "ECDSA-P256", stack: "dev", caValidityDays: 3650 };
    const scripts: Record<string, string> = {
        "install-download": renderInstallScript("3.6.14", { kind: "download", baseUrl: config.etcdDownloadUrl, sha256: expectedSha256("3.6.14") }),
        "install-archive": renderInstallScript("3.6.14", { kind: "archive", fileName: "etcd-v3.6.14-linux-amd64.tar.gz", sha256: "ab".repeat(32) }),
        configure: renderConfigureScript({
            memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", digest: "0123456789abcdef", etcdBinary: "/opt/etcd/v3.6.14/etcd",
            inlineFiles: [{ path: "/etc/etcd/etcd.env", mode: "640", owner: "root:etcd", content: renderEnvironmentFile(memberEnvironment(members[0], config), "t") }],
            stdinFiles: [{ path: "/etc/etcd/pki/server.key", mode: "600", owner: "etcd:etcd", fingerprint: "x" }],
        }),
        apply: renderApplyScript({ member: members[0], members, etcdVersion: "3.6.14", dataDir: "/var/lib/etcd", digest: "0123456789abcdef", token: "t", mode: "new", timeoutSeconds: 60 }),
        survey: renderSurveyScript({ ...health, dataDir: "/var/lib/etcd" }),
        reconcile: renderReconcileScript({ ...health, timeoutSeconds: 60 }),
        retire: renderRetireScript({ ...health, member: members[0], dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal" }),
        gate: renderGateScript({ ...health, timeoutSeconds: 60, expiryMarginDays: 14 }),
        disks: renderPrepareDisksScript({ memberName: "etcd-1", disks: [
            { role: "data", device: "/dev/disk/by-id/virtio-data", mountPoint: "/var/lib/etcd" },
            { role: "wal", device: "/dev/disk/by-id/virtio-wal", mountPoint: "/var/lib/etcd-wal" },
        ] }),
        checks: renderMachineChecksScript({ memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", walFsyncP99Ms: 10, waive: { timeSync: "a reason" }, requiredDataBytes: 2 ** 31 }),
        preflight: renderPreflightScript({ memberName: "etcd-1", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal", etcdVersion: "3.6.14", recipe }),
        trust: renderTrustScript({ memberName: "etcd-1", dataDir: "/var/lib/etcd", recipe, caCertificate: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n" }),
        auth: renderAuthScript({ ...health, plan: authPlan(hosts.map((h) => h.name), [{ name: "kube-apiserver", prefix: "/registry/", gateway: false }, { name: "patroni", prefix: "/service/", gateway: true }]) }),
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

test("install trusts only pinned or configured checksums, fetches over https only, and checks an upload in a private copy", () => {
    const download = renderInstallScript("3.5.27", { kind: "download", baseUrl: "https://mirror.example.com/etcd", sha256: expectedSha256("3.5.27") });
    assert.doesNotMatch(download, /SHA256SUMS/, "the mirror's own checksum list proves nothing");
    assert.doesNotMatch(download, /\bwget\b/, "wget cannot be kept from following a redirect to http");
    assert.match(download, /curl --proto =https --proto-redir =https /);
    assert.match(download, /amd64\) expected='0aad9a9e4e0817a021e933f9806a2b2960a62f949ad5a3d6436d8886945cb1bc'/);
    assert.match(download, /arm64\) expected='1277309f540c5a0329c428f95455c9f76d24f768c8d28fd2753e891c379053fa'/);
    const configured = renderInstallScript("3.6.13", { kind: "download", baseUrl: "https://m", sha256: expectedSha256("3.6.13", "ab".repeat(32)) });
    assert.match(configured, new RegExp(`amd64\\) expected='${"ab".repeat(32)}'`));
    const archive = renderInstallScript("3.6.14", { kind: "archive", fileName: "etcd-v3.6.14-linux-amd64.tar.gz", sha256: "cd".repeat(32) });
    const lines = archive.split("\n");
    const copy = lines.findIndex((l) => l.startsWith('cp "$archive" "$tmp/'));
    const check = lines.findIndex((l) => l.includes("sha256sum --check"));
    assert.ok(copy >= 0 && check > copy, "the archive is hashed only after it was copied out of the world-writable upload directory");
    assert.match(lines[check], / \$tmp\/\$name\.tar\.gz"/);
    assert.ok(lines.findIndex((l) => l.startsWith("tar -xzf")) > check, "nothing is unpacked before the check");
});

test("configure's file writer: content that fails to decode changes nothing and fails the step; good content lands synced", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "write-file-"));
    const target = path.join(dir, "server.key");
    fs.writeFileSync(target, "old key\n", { mode: 0o600 });
    const owner = `${os.userInfo().username}:${spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim()}`;
    const run = (data: string) => spawnSync("bash", ["-c", `set -euo pipefail\nchanged=0\ntmp=""\ntrap 'rm -f "$tmp"' EXIT\n${WRITE_FILE}\n` +
        `write_file "$1" 600 "$2" base64 <<<"$3"\necho "changed=$changed"`, "bash", target, owner, data], { encoding: "utf8" });
    for (const bad of ["-----BEGIN EC PRIVATE KEY-----", "not base64!", ""]) {
        const r = run(bad);
        assert.notEqual(r.status, 0, `${JSON.stringify(bad)} must fail the step`);
        assert.match(r.stderr, /not valid base64; nothing was changed/);
        assert.equal(fs.readFileSync(target, "utf8"), "old key\n", "the file is untouched");
        assert.deepEqual(fs.readdirSync(dir), ["server.key"], "no temporary copy is left behind");
    }
    const good = run(Buffer.from("new key\n").toString("base64"));
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /changed=1/);
    assert.equal(fs.readFileSync(target, "utf8"), "new key\n");
    assert.match(renderConfigureScript({ memberName: "m", dataDir: "/d", walDir: "/w", digest: "0123456789abcdef", etcdBinary: "/opt/etcd/v3.6.14/etcd", inlineFiles: [], stdinFiles: [] }), /sync -- "\$tmp"\n  mv -f "\$tmp" "\$path"/,
        "the content is on disk before the rename makes it visible");
});

test("the health gate reports the earliest certificate expiry a member serves, and fails when it is within the margin", async () => {
    const certificates = fs.mkdtempSync(path.join(tmp, "expiry-"));
    const dir = path.join(certificates, "pki");
    fs.mkdirSync(dir);
    const o = (args: string[]) => assert.equal(spawnSync("openssl", args, { cwd: dir }).status, 0, `openssl ${args.join(" ")}`);
    for (const ca of ["ca", "peer-ca"]) {
        o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-subj", `/CN=test ${ca}`, "-days", "30"]);
    }
    fs.writeFileSync(path.join(dir, "ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    // Peer certificates come from the peer CA, so the peer port only verifies against the peer trust bundle.
    for (const [name, ca, days] of [["server", "ca", "20"], ["peer", "peer-ca", "3"]]) {
        o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
        o(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", days, "-extfile", "ext"]);
    }
    // Two members' ports on loopback: a client port serving the server certificate, a peer port the 3-day peer one.
    const port = 20000 + (process.pid % 20000);
    const servers = [["server", "ca", port], ["peer", "peer-ca", port + 1]].map(([name, ca, p]) => spawn("openssl", ["s_server", "-quiet", "-accept", `127.0.0.1:${p}`,
        "-cert", `${name}.crt`, "-key", `${name}.key`, "-CAfile", `${ca}.crt`, "-Verify", "1"], { cwd: dir, stdio: "ignore" }));
    try {
        await new Promise((r) => setTimeout(r, 1000));
        const check = (margin: number) => spawnSync("bash", ["-c", `set -euo pipefail\n${certificateExpiryCheck({
            etcdVersion: "3.6.14", timeoutSeconds: 5, certificates, expiryMarginDays: margin,
            members: [{ name: "etcd-1", address: "127.0.0.1", dnsNames: [], clientUrl: `https://127.0.0.1:${port}`, peerUrl: `https://127.0.0.1:${port + 1}` }],
        })}\ncertificate_expiry`], { encoding: "utf8" });
        const healthy = check(2);
        assert.equal(healthy.status, 0, healthy.stderr);
        assert.match(healthy.stdout, new RegExp(`earliest certificate expiry: \\S+, the certificate served on 127\\.0\\.0\\.1:${port + 1}, in 2 days`));
        const due = check(5);
        assert.notEqual(due.status, 0);
        assert.match(due.stderr, new RegExp(`the certificate served on 127\\.0\\.0\\.1:${port + 1} expires in 2 days, within etcd-cluster:certExpiryMarginDays \\(5\\)`));
    } finally {
        for (const s of servers) s.kill();
    }
});
