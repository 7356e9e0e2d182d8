/**
 * End to end: a snapshot of a lab cluster restored into a fresh lab cluster through `restoreFrom` (exactly the keys
 * written before the snapshot, revisions bumped, run again: nothing restarts), a corrupted snapshot refused with
 * nothing changed, and a backend filled to its quota (NOSPACE) cleared by `etcd-nospace-recover` under a writer that
 * loses nothing. Needs root and systemd-nspawn; elsewhere it skips, saying why. Always tears its lab down.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PKI, binary } from "../components/layout";
import { NOSPACE_RECOVER } from "../components/nospace";
import { BUMP_REVISION } from "../components/scripts/restore";
import { ClusterInfo, deploy } from "./lab/deploy";
import { assertHealthy, freshLab, labSkip, log, mainPids, missingWrites, ok, ssh, sshAsync, sshTry, startWriter, tearDownLab } from "./lab/e2e-support";
import { LabHosts } from "./lab/hosts";
import { labDir } from "./lab/lab-id";

const DIR = labDir();
const skip = labSkip("lab restore end-to-end test");

/** The smallest quota the program allows: small enough to fill in the lab. */
const QUOTA = 256 * 1024 ** 2;
const SNAPSHOTS = path.join(DIR, "snapshots");
let lab: LabHosts;
let info: ClusterInfo;

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 3 });
    fs.rmSync(SNAPSHOTS, { recursive: true, force: true });
    fs.mkdirSync(SNAPSHOTS, { recursive: true, mode: 0o700 });
    info = (await deploy(lab, { dir: DIR, extraConfig: { quotaBackendBytes: QUOTA }, log: () => undefined })).info;
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

const keys = (prefix: string) => ok(info, ["get", prefix, "--prefix", "--keys-only"]).split("\n").filter(Boolean);
const revision = () => Math.max(...(JSON.parse(ok(info, ["endpoint", "status", "-w", "json"])) as Array<{ Status: { header: { revision: number } } }>).map((s) => s.Status.header.revision));
/** Per member: etcd's process, and what its data and WAL dirs hold. */
const hostsState = () => info.members.map((m) => ssh(info, m.address, "systemctl show -p MainPID --value etcd.service; ls /var/lib/etcd /var/lib/etcd-wal; cat /var/lib/etcd-cluster/restored 2>/dev/null || true"));

test("a snapshot restored into a fresh cluster holds exactly the keys written before it, with revisions bumped; deploying again restarts nothing", { skip }, async () => {
    const before = Array.from({ length: 12 }, (_, i) => `e2e/restore/before-${String(i).padStart(2, "0")}`);
    for (const key of before) ok(info, ["put", key, "kept"]);
    const snapshot = path.join(SNAPSHOTS, "snapshot.db");
    ok(info, ["snapshot", "save", snapshot], { endpoints: [info.endpoints[0]], timeout: "60s" });
    const snapshotRevision = (JSON.parse(ok(info, ["snapshot", "status", snapshot, "-w", "json"])) as { revision: number }).revision;
    for (let i = 0; i < 5; i++) ok(info, ["put", `e2e/restore/after-${i}`, "lost"]);
    assert.equal(keys("e2e/restore/").length, before.length + 5);

    log("fresh hosts, a new stack state, restoreFrom the snapshot");
    lab = await freshLab(DIR, { count: 3 });
    const restored = await deploy(lab, { dir: DIR, extraConfig: { quotaBackendBytes: QUOTA, restoreFrom: snapshot }, log: () => undefined });
    info = restored.info;
    log(`restore deployed in ${restored.seconds.toFixed(1)} s`);
    assertHealthy(info, 3);
    assert.deepEqual(keys("e2e/restore/"), before, "exactly the keys written before the snapshot");
    const current = revision();
    assert.ok(current > snapshotRevision + BUMP_REVISION, `revision ${current} is past the snapshot's ${snapshotRevision} + ${BUMP_REVISION}`);
    log(`snapshot revision ${snapshotRevision}, restored cluster at revision ${current}`);
    const compacted = spawnSync("ip", ["netns", "exec", info.netns, info.etcdctl, `--endpoints=${info.endpoints.join(",")}`, `--cacert=${info.ca}`,
        `--cert=${info.cert}`, `--key=${info.key}`, "get", before[0], `--rev=${snapshotRevision}`], { encoding: "utf8" });
    assert.match(compacted.stderr, /required revision has been compacted/, "revisions before the bump are marked compacted");
    for (const m of info.members) {
        assert.match(ssh(info, m.address, "ls /var/lib/etcd"), /^member\.before-restore-\d{8}T\d{6}Z$/m, `${m.name}: the data the restore replaced is moved aside`);
    }

    const pids = mainPids(info);
    const again = await deploy(lab, { dir: DIR, extraConfig: { quotaBackendBytes: QUOTA, restoreFrom: snapshot }, log: () => undefined });
    assert.deepEqual(again.changes, [], "the same restoreFrom again: no step runs");
    assert.deepEqual(mainPids(info), pids, "no etcd process restarted");
    assert.deepEqual(keys("e2e/restore/"), before);
});

test("a corrupted snapshot is refused before any member changes", { skip }, async () => {
    const good = fs.readFileSync(path.join(SNAPSHOTS, "snapshot.db"));
    const corrupted = Buffer.from(good);
    // Bytes in the middle of the database: bbolt still opens it; etcd's appended integrity hash no longer matches.
    corrupted.fill(0x5a, Math.floor(good.length / 2), Math.floor(good.length / 2) + 64);
    const file = path.join(SNAPSHOTS, "corrupted.db");
    fs.writeFileSync(file, corrupted);
    ok(info, ["put", "e2e/restore/written-since", "kept"]);
    const state = hostsState();
    await assert.rejects(deploy(lab, { dir: DIR, extraConfig: { quotaBackendBytes: QUOTA, restoreFrom: file }, log: () => undefined }), (e: Error) => {
        assert.match(e.message, /etcd-cluster:restoreFrom: (the snapshot fails etcd.s integrity check|etcdutl cannot read the snapshot)/);
        return true;
    });
    assert.deepEqual(hostsState(), state, "same etcd processes, same data dirs, same recorded restore");
    assertHealthy(info, 3);
    assert.match(ok(info, ["get", "e2e/restore/written-since", "--print-value-only"]), /^kept$/m);
});

test("the same snapshot restored again over the running cluster (a new restoreId) drops what was written since", { skip }, async () => {
    const snapshot = path.join(SNAPSHOTS, "snapshot.db");
    assert.ok(keys("e2e/restore/").includes("e2e/restore/written-since"));
    const result = await deploy(lab, { dir: DIR, extraConfig: { quotaBackendBytes: QUOTA, restoreFrom: snapshot, restoreId: "again" }, log: () => undefined });
    log(`restored over the running cluster in ${result.seconds.toFixed(1)} s`);
    assertHealthy(info, 3);
    assert.deepEqual(keys("e2e/restore/"), Array.from({ length: 12 }, (_, i) => `e2e/restore/before-${String(i).padStart(2, "0")}`));
    for (const m of info.members) {
        assert.equal(ssh(info, m.address, "ls -d /var/lib/etcd/member.before-restore-* | wc -l"), "2", `${m.name}: both replaced data dirs are kept`);
    }
});

test("a backend filled to its quota raises NOSPACE; etcd-nospace-recover clears it and no acknowledged write is lost", { skip }, async () => {
    const writer = startWriter(info, "e2e/nospace/");
    const member = info.members[0];
    const etcdctl = `${binary(lab.etcdVersion, "etcdctl")} --endpoints=${info.endpoints.join(",")} --cacert=${PKI.ca} --cert=${PKI.serverCert} --key=${PKI.serverKey}`;
    // About 1 MB values over four keys: history fills the backend, and compaction can free nearly all of it.
    const fill = (await sshAsync(info, member.address, `for i in $(seq 1 600); do
  if ! out=$(head -c 750000 /dev/urandom | base64 -w0 | ${etcdctl} put "e2e/fill/$((i % 4))" 2>&1); then echo "stopped after $i: $out"; break; fi
done`)).stdout.trim();
    log(fill);
    assert.match(fill, /database space exceeded/);
    assert.match(ok(info, ["alarm", "list"]), /alarm:NOSPACE/);

    const recover = await sshAsync(info, info.members[1].address, NOSPACE_RECOVER);
    log(recover.stdout.trim().replace(/\n/g, " | "));
    assert.equal(recover.status, 0, recover.stderr);
    assert.match(recover.stdout, /NOSPACE cleared: writes are accepted again/);
    assert.equal(ok(info, ["alarm", "list"]).trim(), "");
    ok(info, ["put", "e2e/nospace-check", "ok"]);
    await new Promise((r) => setTimeout(r, 3000));
    const report = await writer.stop();
    log(`writer: ${report.acked.length} acknowledged, ${report.failed} failed while NOSPACE was raised, longest gap ${report.longestGapMs} ms`);
    assert.deepEqual(missingWrites(info, "e2e/nospace/", report.acked), [], "every acknowledged write is still there");
    assertHealthy(info, 3);
    const again = sshTry(info, info.members[2].address, NOSPACE_RECOVER);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /no alarm is raised; nothing to do/);
});
