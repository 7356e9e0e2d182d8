/**
 * End to end: the real index.ts deploys etcd onto real systemd hosts (the lab), and the cluster is checked the way
 * an operator would. Needs root and systemd-nspawn (`npm run setup` installs it); elsewhere it skips, saying why.
 * It tears down any running lab first and always tears down its own.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ClusterInfo, deploy, etcdctl, EtcdctlOptions } from "./lab/deploy";
import { assertHealthy as assertHealthyOn, assertRestartedOneAtATime, etcdctlAsync as etcdctlAsyncOn, mainPids as mainPidsOn, missingWrites, ok as okOn, ssh as sshOn, startWriter, labSkip, freshLab, tearDownLab, log } from "./lab/e2e-support";
import { LabHosts } from "./lab/hosts";
import { layOutMirror, startMirror, trustMirrorCommand } from "./lab/mirror";
import { labDir } from "./lab/lab-id";

const DIR = labDir();
const skip = labSkip("lab end-to-end test");

let lab: LabHosts;
let info: ClusterInfo;
let outputs: Record<string, unknown>;
const timings: Record<string, string> = {};

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
    const t = Date.now();
    const result = await work();
    timings[label] = `${((Date.now() - t) / 1000).toFixed(1)}s`;
    log(`${label}: ${timings[label]}`);
    return result;
}

const ssh = (address: string, command: string) => sshOn(info, address, command);
const ok = (args: string[], opts?: EtcdctlOptions) => okOn(info, args, opts);
const assertHealthy = (n: number) => assertHealthyOn(info, n);
const mainPids = () => mainPidsOn(info);
const etcdctlAsync = (args: string[], opts: EtcdctlOptions) => etcdctlAsyncOn(info, args, opts);

before(async () => {
    if (skip) return;
    lab = await timed("hosts up (3, image cached or built)", () => freshLab(DIR, { count: 3 }));
    ({ info, outputs } = await timed("deploy to healthy (3 members)", () => deploy(lab, { dir: DIR, log: () => undefined })));
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
    log(`timings: ${JSON.stringify(timings)}`);
});

test("the cluster is healthy: every member, one leader, one term, no alarms, and a write reads back", { skip }, () => {
    assertHealthy(3);
    ok(["put", "e2e/hello", "world"]);
    assert.match(ok(["get", "e2e/hello", "--print-value-only"]), /^world$/m);
});

test("the health gate ran from a member and reports the earliest certificate expiry of every member's served certificates", { skip }, () => {
    const health = String(outputs.health);
    const m = /earliest certificate expiry: (\S+), (.+), in (\d+) days/.exec(health);
    assert.ok(m, health);
    assert.ok(Number(m[3]) >= 363 && Number(m[3]) <= 365, `a fresh 365-day certificate: ${m[0]}`);
    assert.match(m[2], /^the certificate served on 10\.88\.\d+\.\d+:(2379|2380)$/);
    assert.match(String(outputs.certificatesRenewAfter), /^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
});

test("clients without a certificate, with another CA's certificate, or in plain HTTP are refused", { skip }, () => {
    const tmp = fs.mkdtempSync(path.join(DIR, "foreign-"));
    try {
        assert.notEqual(etcdctl(info, ["endpoint", "health"], { cert: null }).status, 0, "no client certificate");
        const o = (args: string[]) => assert.equal(spawnSync("openssl", args, { cwd: tmp }).status, 0, `openssl ${args.join(" ")}`);
        o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=etcd-cluster lab CA", "-days", "1"]);
        o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key", "-out", "root.csr", "-subj", "/CN=root"]);
        fs.writeFileSync(path.join(tmp, "ext"), "extendedKeyUsage=clientAuth\n");
        o(["x509", "-req", "-in", "root.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "root.crt", "-days", "1", "-extfile", "ext"]);
        const foreign = etcdctl(info, ["endpoint", "health"], { cert: { cert: path.join(tmp, "root.crt"), key: path.join(tmp, "root.key") } });
        assert.notEqual(foreign.status, 0, "a certificate from another CA with the same CN");
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    for (const m of info.members) {
        for (const port of [2379, 2380]) {
            const r = spawnSync("ip", ["netns", "exec", info.netns, "curl", "-s", "-m", "5", `http://${m.address}:${port}/health`], { encoding: "utf8" });
            assert.doesNotMatch(r.stdout, /"health"\s*:\s*"true"/, `plain HTTP on ${m.address}:${port} must not serve`);
        }
        const metrics = ssh(m.address, `exec 3<>/dev/tcp/127.0.0.1/2381; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`);
        assert.match(metrics, /^HTTP\/1\.0 200/);
        assert.match(metrics, /^etcd_server_has_leader 1$/m, `metrics on ${m.name}'s localhost`);
    }
});

test("every host runs etcd as etcd, with private directories and keys, enabled, and CIS 2.1-2.7 in its command line and environment", { skip }, () => {
    for (const m of info.members) {
        const pid = ssh(m.address, "systemctl show -p MainPID --value etcd.service");
        assert.equal(ssh(m.address, `ps -o user= -p ${pid}`), "etcd");
        assert.equal(ssh(m.address, "stat -c '%a %U:%G' /var/lib/etcd /var/lib/etcd-wal"), "700 etcd:etcd\n700 etcd:etcd");
        assert.equal(ssh(m.address, "stat -c '%a' /etc/etcd/current/pki/server.key /etc/etcd/current/pki/peer.key"), "600\n600");
        assert.equal(ssh(m.address, "systemctl is-enabled etcd.service; systemctl is-active etcd.service"), "enabled\nactive");
        const cmdline = ssh(m.address, `tr '\\0' ' ' < /proc/${pid}/cmdline`);
        assert.match(cmdline, /--data-dir=\/var\/lib\/etcd\b/);
        const env = new Map(ssh(m.address, `tr '\\0' '\\n' < /proc/${pid}/environ`).split("\n").map((l) => [l.split("=")[0], l.slice(l.indexOf("=") + 1)]));
        for (const [k, v] of [["ETCD_CLIENT_CERT_AUTH", "true"], ["ETCD_PEER_CLIENT_CERT_AUTH", "true"], ["ETCD_AUTO_TLS", "false"], ["ETCD_PEER_AUTO_TLS", "false"],
            ["ETCD_CERT_FILE", "/etc/etcd/current/pki/server.crt"], ["ETCD_KEY_FILE", "/etc/etcd/current/pki/server.key"],
            ["ETCD_PEER_CERT_FILE", "/etc/etcd/current/pki/peer.crt"], ["ETCD_PEER_KEY_FILE", "/etc/etcd/current/pki/peer.key"], ["ETCD_TRUSTED_CA_FILE", "/etc/etcd/current/pki/ca.crt"]]) {
            assert.equal(env.get(k), v, `${m.name}: ${k}`);
        }
    }
});

test("deploying again changes nothing: same etcd processes, same members", { skip }, async () => {
    const pids = mainPids();
    const ids = assertHealthy(3);
    const again = await timed("re-deploy, nothing to change (3 members)", () => deploy(lab, { dir: DIR, log: () => undefined }));
    assert.deepEqual(again.changes, [], "no resource changed, so no command ran");
    assert.deepEqual(mainPids(), pids, "no etcd process restarted");
    assert.deepEqual(assertHealthy(3), ids, "same member IDs");
});

test("a configuration change with a certificate rotation rolls out one member at a time while a writer loses nothing", { skip }, async () => {
    const pids = mainPids();
    const writer = startWriter(info, "e2e/roll/");
    let monitoring = true;
    let maxDown = 0;
    const monitor = (async () => {
        while (monitoring) {
            const down = (await Promise.all(info.endpoints.map((e) => etcdctlAsync(["endpoint", "health"], { endpoints: [e], timeout: "2s" })))).filter((s) => s !== 0).length;
            maxDown = Math.max(maxDown, down);
            await new Promise((r) => setTimeout(r, 200));
        }
    })();
    try {
        await new Promise((r) => setTimeout(r, 2000));
        await timed("rolling change (3 members)", () => deploy(lab, { dir: DIR, extraConfig: { snapshotCount: 5000, certRotation: "1" }, log: () => undefined }));
        await new Promise((r) => setTimeout(r, 2000));
    } finally {
        monitoring = false;
        await monitor;
    }
    const { acked, failed, longestGapMs } = await writer.stop();
    log(`rolling change: ${acked.length} writes acknowledged, ${failed} failed, longest gap ${longestGapMs} ms, at most ${maxDown} member(s) unhealthy at once`);
    const after = mainPids();
    after.forEach((pid, i) => assert.notEqual(pid, pids[i], `${info.members[i].name} restarted with the new configuration`));
    log(`restart windows (ms): ${assertRestartedOneAtATime(info)}`);
    assert.ok(maxDown <= 1, `never two members unhealthy at once (saw ${maxDown})`);
    assert.equal(failed, 0, "no write failed after client retries");
    assert.ok(acked.length > 20, `the writer kept writing (${acked.length})`);
    assert.deepEqual(missingWrites(info, "e2e/roll/", acked), [], "every acknowledged write is readable");
    for (const m of info.members) {
        assert.equal(ssh(m.address, "grep ^ETCD_SNAPSHOT_COUNT= /etc/etcd/current/etcd.env"), "ETCD_SNAPSHOT_COUNT=5000");
        for (const port of [2379, 2380]) {
            const served = spawnSync("sh", ["-c", `ip netns exec ${info.netns} openssl s_client -connect ${m.address}:${port} -CAfile ${info.ca} </dev/null 2>/dev/null | openssl x509 -noout -subject`], { encoding: "utf8" });
            assert.match(served.stdout, /OU ?= ?lab rotation 1/, `${m.name}:${port} serves the rotated certificate`);
        }
    }
    assertHealthy(3);
});

test("a 5-member lab installs etcd from an https release mirror, refuses a tampered tarball (even with a matching SHA256SUMS) and a redirect to http, refuses a host whose key does not match, and is healthy", { skip }, async () => {
    // A new lab and a new deployment: the runtime's state of the 3-member one would describe hosts that are gone.
    lab = await timed("hosts up (5)", () => freshLab(DIR, { count: 5 }));
    const mirrorDir = path.join(DIR, "mirror");
    fs.rmSync(mirrorDir, { recursive: true, force: true });
    const tampered = path.join(DIR, "tampered.tar.gz");
    fs.writeFileSync(tampered, Buffer.concat([fs.readFileSync(lab.etcdArchive), Buffer.from("tampered")]));
    layOutMirror(mirrorDir, tampered, lab.etcdVersion, path.basename(lab.etcdArchive));
    const mirror = await startMirror(mirrorDir);
    try {
        // The hosts are new, but reached the same way (namespace, key, user) as those `info` describes.
        for (const h of lab.hosts) ssh(h.address, trustMirrorCommand(mirror.caPem));
        const download = { etcdArchive: "", etcdDownloadUrl: mirror.url };
        await assert.rejects(deploy(lab, { dir: DIR, extraConfig: download }), /computed checksum did NOT match/);
        await assert.rejects(deploy(lab, { dir: DIR, extraConfig: { ...download, etcdDownloadUrl: `${mirror.url}/to-http` } }), /Protocol "http" not supported or disabled|protocol.*http/i);
        layOutMirror(mirrorDir, lab.etcdArchive, lab.etcdVersion);
        info = (await timed("deploy to healthy (5 members, from the mirror)", () => deploy(lab, { dir: DIR, extraConfig: download, log: () => undefined }))).info;
        // A change (new certificates) that would reach etcd-1 first, while another machine answers at its address.
        const files = "find /etc/etcd -type f -exec sha256sum {} + | sort";
        const before = ssh(lab.hosts[0].address, files);
        const impostor = { ...lab, hosts: lab.hosts.map((h, i) => (i === 0 ? { ...h, hostKey: lab.hosts[1].hostKey } : h)) };
        await assert.rejects(deploy(impostor, { dir: DIR, extraConfig: { ...download, certRotation: "impostor" } }), /etcd-1[\s\S]*Host key verification failed/);
        assert.equal(ssh(lab.hosts[0].address, files), before, "nothing reached the host whose key did not match");
    } finally {
        await mirror.stop();
        fs.rmSync(mirrorDir, { recursive: true, force: true });
        fs.rmSync(tampered, { force: true });
    }
    assertHealthy(5);
    for (const m of info.members) {
        assert.equal(ssh(m.address, `ls /var/tmp/*.tar.gz 2>/dev/null | wc -l; /opt/etcd/v${lab.etcdVersion}/etcd --version | head -1`), `0\netcd Version: ${lab.etcdVersion}`, `${m.name} installed from the mirror`);
    }
});
