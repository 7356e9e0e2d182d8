/**
 * End to end: an etcd upgrade rolls (Debian trixie's 3.5.16 to sid's 3.5.30) under a writer, and what would harm a
 * live cluster is refused before anything changes: a downgrade, a data dir move, a key algorithm change. Needs root
 * and systemd-nspawn; elsewhere it skips, saying why. It tears down any running lab first and always its own.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { ClusterInfo, deploy } from "./lab/deploy";
import { assertHealthy, assertRestartedOneAtATime, mainPids, missingWrites, ok, ssh, startWriter, labSkip, freshLab, tearDownLab, log } from "./lab/e2e-support";
import { ensureEtcdArchive, EtcdArchive } from "./lab/etcd-archive";
import { LabHosts } from "./lab/hosts";
import { labCacheDir, labDir } from "./lab/lab-id";

const DIR = labDir();
const skip = labSkip("lab upgrade end-to-end test");

let lab: LabHosts;
let older: LabHosts;
let newer: LabHosts;
let info: ClusterInfo;

function withArchive(hosts: LabHosts, archive: EtcdArchive): LabHosts {
    return { ...hosts, etcdArchive: archive.path, etcdVersion: archive.version };
}

/** Versions every member reports about itself, in endpoint order. */
function serverVersions(): string[] {
    const statuses = JSON.parse(ok(info, ["endpoint", "status", "-w", "json"]).replace(/:(\d{15,})/g, ':"$1"')) as Array<{ Status: { version: string } }>;
    return statuses.map((s) => s.Status.version);
}

/** What a refused update must leave alone on every host: processes, files, installed versions, directories. */
function hostsState(): string[] {
    return info.members.map((m) => ssh(info, m.address, [
        "systemctl show -p MainPID --value etcd.service",
        "sha256sum /etc/systemd/system/etcd.service /etc/etcd/current/etcd.env /etc/etcd/current/pki/* /var/lib/etcd-cluster/*",
        "ls /etc/etcd/releases",
        "ls /opt/etcd /var/tmp",
        "ls -d /var/lib/etcd*",
    ].join("; ")));
}

async function assertRefused(label: string, hosts: LabHosts, extraConfig: Record<string, unknown>, message: RegExp): Promise<void> {
    const state = hostsState();
    ok(info, ["put", `e2e/refused/${label}`, "kept"]);
    await assert.rejects(deploy(hosts, { dir: DIR, extraConfig }), (e: Error) => {
        assert.match(e.message, message);
        return true;
    });
    assert.deepEqual(hostsState(), state, `${label}: nothing changed on any host`);
    assertHealthy(info, 3);
    assert.match(ok(info, ["get", `e2e/refused/${label}`, "--print-value-only"]), /^kept$/m);
}

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 3 });
    const cache = labCacheDir(DIR);
    older = withArchive(lab, await ensureEtcdArchive(cache, "trixie"));
    newer = withArchive(lab, await ensureEtcdArchive(cache, "sid"));
    assert.notEqual(older.etcdVersion, newer.etcdVersion, "trixie and sid ship different etcd versions");
    info = (await deploy(older, { dir: DIR, log: () => undefined })).info;
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

test("a patch upgrade rolls one member at a time under a writer that loses nothing, and the cluster reports the new version", { skip }, async () => {
    assertHealthy(info, 3);
    assert.deepEqual(serverVersions(), [older.etcdVersion, older.etcdVersion, older.etcdVersion]);
    const pids = mainPids(info);
    const writer = startWriter(info, "e2e/upgrade/");
    const started = Date.now();
    try {
        await new Promise((r) => setTimeout(r, 2000));
        info = (await deploy(newer, { dir: DIR, log: () => undefined })).info;
        await new Promise((r) => setTimeout(r, 2000));
    } finally {
        const { acked, failed, longestGapMs } = await writer.stop();
        log(`upgrade ${older.etcdVersion} -> ${newer.etcdVersion}: ${((Date.now() - started) / 1000).toFixed(1)}s, ${acked.length} writes acknowledged, ${failed} failed, longest gap ${longestGapMs} ms`);
        assert.equal(failed, 0, "no acknowledged write failed");
        assert.ok(acked.length > 20, `the writer kept writing (${acked.length})`);
        assert.deepEqual(missingWrites(info, "e2e/upgrade/", acked), [], "every acknowledged write is readable");
    }
    mainPids(info).forEach((pid, i) => assert.notEqual(pid, pids[i], `${info.members[i].name} restarted on the new version`));
    log(`restart windows (ms): ${assertRestartedOneAtATime(info)}`);
    assertHealthy(info, 3);
    assert.deepEqual(serverVersions(), [newer.etcdVersion, newer.etcdVersion, newer.etcdVersion]);
});

test("going back to the older etcd is refused as a downgrade, and nothing changes", { skip }, async () => {
    await assertRefused("downgrade", older, {}, new RegExp(
        `etcd-cluster:etcdVersion: changing it from ${newer.etcdVersion.replace(/\./g, "\\.")} \\(run by .*\\) to ${older.etcdVersion.replace(/\./g, "\\.")} is refused: it is a downgrade`));
    assert.deepEqual(serverVersions(), [newer.etcdVersion, newer.etcdVersion, newer.etcdVersion]);
});

test("moving the data dir of members that hold data is refused, and nothing changes", { skip }, async () => {
    await assertRefused("data-dir", newer, { dataDir: "/var/lib/etcd-moved" },
        /etcd-cluster:dataDir: changing it from "\/var\/lib\/etcd" to "\/var\/lib\/etcd-moved" is refused: etcd-\d holds data in \/var\/lib\/etcd\/member/);
});

test("changing the key algorithm (a new CA) is refused, nothing changes, and the old configuration still changes nothing", { skip }, async () => {
    await assertRefused("key-algorithm", newer, { keyAlgorithm: "ECDSA-P384" },
        /etcd-cluster:keyAlgorithm: changing it from ECDSA-P256 to ECDSA-P384 is refused: it would replace the CA of this running cluster/);
    const pids = mainPids(info);
    await deploy(newer, { dir: DIR, log: () => undefined });
    assert.deepEqual(mainPids(info), pids, "the refused attempt left no new key or certificate behind to roll out");
});
