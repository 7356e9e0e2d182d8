/**
 * End to end: scheduled backups on `hosts` into a lab backup host over SSH. Backups appear on a short schedule, taken
 * by one member at a time, verified and pruned by retention; the last success is visible on the members (file and
 * textfile metric) and in the stack output; the members' key can do nothing on the backup host but hand over a
 * snapshot; an unreachable store fails the unit and the metric; and `restoreFrom: store:<path>` restores a snapshot
 * from the store (fetched with the restore's own read-only key) while a tampered stored snapshot is refused with
 * nothing changed. Needs root and systemd-nspawn; elsewhere it skips, saying why.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { restoreKey } from "../components/config/restore";
import { BUMP_REVISION } from "../components/scripts/restore";
import { ClusterInfo, deploy } from "./lab/deploy";
import { freshLab, labSkip, log, ok as okOn, ssh as sshOn, sshTry as sshTryOn, tearDownLab } from "./lab/e2e-support";
import { LabHost, LabHosts, labAddHosts } from "./lab/hosts";
import { labDir } from "./lab/lab-id";

const DIR = labDir();
const skip = labSkip("lab backup end-to-end test");

const STORE_DIR = "/srv/etcd-backups";
const KEEP = 2;
let lab: LabHosts;
let store: LabHost;
let info: ClusterInfo;
let outputs: Record<string, unknown>;
let backupConfig: Record<string, unknown>;
const ssh = (address: string, command: string) => sshOn(info, address, command);
const sshTry = (address: string, command: string) => sshTryOn(info, address, command);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every backup members reported storing, from their journals: member and store path. */
function storedBackups(): Array<{ member: string; path: string }> {
    return info.members.flatMap((m) => ssh(m.address, "journalctl -u etcd-backup.service -o cat --no-pager | grep '^backup .* stored in ' || true")
        .split("\n").filter(Boolean).map((line) => ({ member: m.name, path: line.split(" ")[1] })));
}

const hourlyOnStore = () => ssh(store.address, `cd ${STORE_DIR} && find . -path '*/hourly/*' -type f -printf '%P\\n' | sort`).split("\n").filter(Boolean);

/** etcdutl of the lab's etcd, unpacked on this machine. */
function etcdutl(): string {
    const file = path.join(DIR, "bin", "etcdutl");
    if (!fs.existsSync(file)) {
        const top = path.basename(lab.etcdArchive).replace(/\.tar\.gz$/, "");
        execFileSync("tar", ["-xzf", lab.etcdArchive, "-C", path.dirname(file), "--strip-components=1", `${top}/etcdutl`]);
    }
    return file;
}

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 3 });
    [store] = await labAddHosts({ count: 1, dir: DIR, log });
    backupConfig = { schedule: "every 1m", retention: { hourly: KEEP, daily: 1 }, store: { host: { address: store.address, hostKey: store.hostKey }, directory: STORE_DIR } };
    ({ info, outputs } = await deploy(lab, { dir: DIR, log: () => undefined, extraConfig: { backup: backupConfig } }));
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

test("backups appear every minute from one member at a time, verified, and retention keeps the newest", { skip }, async () => {
    okOn(info, ["put", "backup/before", "1"]);
    const deadline = Date.now() + 5 * 60_000;
    let stored = storedBackups();
    while (stored.length < KEEP + 1 && Date.now() < deadline) {
        await sleep(10_000);
        stored = storedBackups();
    }
    log(`stored: ${stored.map((b) => `${b.member} ${b.path}`).join(", ")}`);
    assert.ok(stored.length >= KEEP + 1, `expected at least ${KEEP + 1} scheduled backups within 5 minutes, got ${stored.length}`);
    const minutes = stored.map((b) => /\/(\d{8}T\d{4})\d\dZ-rev\d+\.db$/.exec(b.path)![1]);
    assert.equal(new Set(minutes).size, minutes.length, "each scheduled run was taken by exactly one member");
    for (const m of info.members) {
        const runs = ssh(m.address, "journalctl -u etcd-backup.service -o cat --no-pager | grep -c -e 'is not the leader' -e '^backup .* stored in ' || true");
        assert.ok(Number(runs) >= KEEP + 1, `${m.name}'s timer ran every minute too (${runs} runs)`);
    }

    // Retention: only the newest KEEP complete backups are left, each with a checksum file sha256sum accepts.
    const files = hourlyOnStore();
    const snapshots = files.filter((f) => f.endsWith(".db"));
    assert.equal(snapshots.length, KEEP, files.join(", "));
    assert.deepEqual(files.filter((f) => f.endsWith(".sha256")).map((f) => f.replace(/\.sha256$/, "")), snapshots);
    // A run may finish between the listing and reading the journals: compare with the backups up to the newest kept.
    const onStore = snapshots;
    const reported = storedBackups().map((b) => b.path).sort();
    assert.deepEqual(onStore, reported.filter((p) => p <= onStore[KEEP - 1]).slice(-KEEP), "the newest backups are the ones kept");
    // Only the newest: the next run (every minute) may already have pruned the older one since the listing.
    const newest = snapshots[KEEP - 1];
    ssh(store.address, `cd ${STORE_DIR}/${path.dirname(newest)} && sha256sum -c ${path.basename(newest)}.sha256`);

    // A stored snapshot is a real etcd database holding what was written before it.
    const local = path.join(DIR, "snapshot.db");
    fs.writeFileSync(local, execFileSync("ip", ["netns", "exec", info.netns, "ssh", "-i", info.sshKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", `root@${store.address}`, `cat ${STORE_DIR}/${snapshots[KEEP - 1]}`], { maxBuffer: 256 * 1024 * 1024 }));
    const status = JSON.parse(execFileSync(etcdutl(), ["snapshot", "status", local, "-w", "json"], { encoding: "utf8" })) as { revision: number; totalKey: number };
    assert.ok(status.revision > 1 && status.totalKey >= 1, JSON.stringify(status));
    assert.equal(Number(/-rev(\d+)\.db$/.exec(snapshots[KEEP - 1])![1]), status.revision, "the name carries the snapshot's revision");
    fs.rmSync(local);
});

test("the last successful backup is visible on the members (file, textfile metric) and the stack output says where", { skip }, () => {
    const records = info.members.map((m) => sshTry(m.address, "cat /var/lib/etcd-cluster/backup/last-success").stdout.trim()).filter(Boolean);
    assert.ok(records.length >= 1, "the member that took a backup recorded it");
    const newest = records.sort().at(-1)!;
    assert.match(newest, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ lab\/etcd-cluster-lab-[0-9a-z]+\/hourly\/\d{8}T\d{6}Z-rev\d+\.db revision=\d+ sha256=[0-9a-f]{64}$/);
    const age = (Date.now() - Date.parse(newest.split(" ")[0])) / 1000;
    assert.ok(age < 180, `the newest backup is ${age}s old`);
    for (const m of info.members) {
        const metrics = ssh(m.address, "cat /var/lib/prometheus/node-exporter/etcd_backup.prom");
        assert.match(metrics, /^etcd_backup_last_run_success\{stack="lab"\} 1$/m, m.name);
        assert.match(metrics, /^etcd_backup_max_age_seconds\{stack="lab"\} 720$/m, m.name);
        assert.match(ssh(m.address, "cat /var/lib/prometheus/node-exporter/etcd_certificates.prom"), /^etcd_certificate_expiry_timestamp_seconds\{member="[^"]+",certificate="server"\} \d+$/m);
    }
    // File and metric read in one command per member: a backup runs every minute and may land between two reads.
    for (const m of info.members) {
        const [record, metrics] = ssh(m.address, "cat /var/lib/etcd-cluster/backup/last-success 2>/dev/null || true; echo ---; cat /var/lib/prometheus/node-exporter/etcd_backup.prom").split("---");
        if (!record.trim()) continue;
        const seconds = Number(/^etcd_backup_last_success_timestamp_seconds\{stack="lab"\} (\d+)$/m.exec(metrics)?.[1]);
        assert.equal(seconds, Date.parse(record.trim().split(" ")[0]) / 1000, `${m.name}: the metric and the file agree`);
    }
    const report = outputs.backupStatus as Record<string, unknown>;
    assert.equal(report.store, `root@${store.address}:${STORE_DIR} (SSH port 22)`);
    assert.equal(report.lastSuccessFile, "/var/lib/etcd-cluster/backup/last-success");
});

test("the members' backup key can only hand over snapshots: no shell, no reading, no other stack", { skip }, () => {
    const asBackup = (command: string) => sshTry(info.members[0].address,
        `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/etcd/backup/known_hosts -i /etc/etcd/backup/id_store etcd-backup@${store.address} ${command} </dev/null`);
    for (const [command, why] of [["ls", /only 'put/], ["'cat /etc/shadow'", /only 'put/], [`'put other/etcd-cluster-other-1/hourly/20261123T000000Z-rev1.db ${"0".repeat(64)}'`, /writes backups of stack lab only/]] as const) {
        const r = asBackup(command);
        assert.notEqual(r.status, 0, command);
        assert.match(r.stderr, why, command);
    }
});

test("a backup that cannot reach its store fails the unit and the metric, and the next one succeeds again", { skip }, async () => {
    // sshd comes back by itself (nothing could log in to start it): the test's own way in is SSH too.
    ssh(store.address, "systemd-run --quiet --on-active=20 systemctl start ssh.service && systemctl stop ssh.service");
    const results = info.members.map((m) => ({ member: m, run: sshTry(m.address, "systemctl start etcd-backup.service") }));
    const failed = results.filter((r) => r.run.status !== 0);
    assert.equal(failed.length, 1, "the leader's run fails; the others are not the leader and succeed");
    const leader = failed[0].member;
    assert.equal(ssh(leader.address, "systemctl is-failed etcd-backup.service || true"), "failed");
    assert.match(ssh(leader.address, "journalctl -u etcd-backup.service -o cat --no-pager | tail -n 20"), /backup FAILED/);
    assert.match(ssh(leader.address, "cat /var/lib/prometheus/node-exporter/etcd_backup.prom"), /^etcd_backup_last_run_success\{stack="lab"\} 0$/m);
    const back = Date.now() + 90_000;
    while (sshTry(store.address, "true").status !== 0) {
        assert.ok(Date.now() < back, "the backup host's sshd came back");
        await sleep(2000);
    }
    const again = info.members.map((m) => sshTry(m.address, "systemctl start etcd-backup.service").status);
    assert.deepEqual(again, [0, 0, 0], "with the store back, the next run succeeds on every member");
});

/** Runs the backup service on every member now (the leader takes it): the new backup's path in the store and its SHA-256. */
function backupNow(): { path: string; sha256: string } {
    const record = () => info.members.map((m) => sshTry(m.address, "cat /var/lib/etcd-cluster/backup/last-success").stdout.trim());
    const before = record();
    for (const m of info.members) ssh(m.address, "systemctl start etcd-backup.service");
    const fresh = record().filter((line, i) => line && line !== before[i]);
    assert.equal(fresh.length, 1, `exactly one member took the backup: ${fresh.join(" | ")}`);
    const [, backup, , sha] = /^\S+ (\S+) revision=(\d+) sha256=([0-9a-f]{64})$/.exec(fresh[0])!;
    return { path: backup, sha256: sha };
}

const keysUnder = (prefix: string) => okOn(info, ["get", prefix, "--prefix", "--keys-only"]).split("\n").filter(Boolean);
/** Per member: etcd's process, what its data and WAL dirs hold, and the restore it records. */
const hostsState = () => info.members.map((m) => ssh(m.address, "systemctl show -p MainPID --value etcd.service; ls /var/lib/etcd /var/lib/etcd-wal; cat /var/lib/etcd-cluster/restored 2>/dev/null || true"));

test("restoreFrom store:latest restores exactly the keys written before the newest backup, once, read with a key of its own; a tampered stored snapshot is refused with nothing changed; removing restoreFrom revokes the key", { skip }, async () => {
    // Scheduled runs would prune (two kept) the backups this test restores from: from here backups are taken by hand.
    for (const m of info.members) ssh(m.address, "systemctl stop etcd-backup.timer");
    const before = Array.from({ length: 8 }, (_, i) => `e2e/store-restore/before-${i}`);
    for (const key of before) okOn(info, ["put", key, "kept"]);
    const snapshot = backupNow();
    const snapshotRevision = Number(/-rev(\d+)\.db$/.exec(snapshot.path)![1]);
    for (let i = 0; i < 4; i++) okOn(info, ["put", `e2e/store-restore/after-${i}`, "lost"]);
    log(`restoring store:latest (${snapshot.path}) over the running cluster`);
    const restored = await deploy(lab, { dir: DIR, log: () => undefined, extraConfig: { backup: backupConfig, restoreFrom: "store:latest" } });
    info = restored.info;
    log(`restored from the store in ${restored.seconds.toFixed(1)} s`);
    assert.deepEqual(keysUnder("e2e/store-restore/"), before, "exactly the keys written before the backup");
    const revision = Math.max(...(JSON.parse(okOn(info, ["endpoint", "status", "-w", "json"])) as Array<{ Status: { header: { revision: number } } }>).map((s) => s.Status.header.revision));
    assert.ok(revision > snapshotRevision + BUMP_REVISION, `revision ${revision} is past the snapshot's ${snapshotRevision} + ${BUMP_REVISION}`);
    for (const m of info.members) {
        assert.equal(ssh(m.address, "cat /var/lib/etcd-cluster/restored"), restoreKey(snapshot.sha256, ""), `${m.name} restored the newest backup (its SHA-256 names the restore)`);
        assert.equal(ssh(m.address, "grep -rlse 'PRIVATE KEY' /tmp /var/tmp || true"), "", `${m.name} keeps no read key after the steps`);
    }
    const readerLine = () => ssh(store.address, "grep -F ' etcd-cluster-restore:lab' /var/lib/etcd-backup/.ssh/authorized_keys || true");
    assert.match(readerLine(), /^restrict,command="\/usr\/local\/lib\/etcd-cluster\/backup-send lab" ecdsa-sha2-nistp256 \S+ etcd-cluster-restore:lab$/);

    // A newer backup does not make the same restoreFrom restore again: latest was resolved once.
    okOn(info, ["put", "e2e/store-restore/written-since", "kept"]);
    const tampered = backupNow();
    const pids = hostsState();
    const again = await deploy(lab, { dir: DIR, log: () => undefined, extraConfig: { backup: backupConfig, restoreFrom: "store:latest" } });
    assert.deepEqual(again.changes, [], "the same restoreFrom again: no step runs");
    assert.deepEqual(hostsState(), pids, "no etcd process restarted, no data moved");

    // Altered in the store after its checksum was written: the members refuse it before etcd or its data is touched.
    ssh(store.address, `f=${STORE_DIR}/${tampered.path}; printf tampered | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc status=none`);
    const state = hostsState();
    await assert.rejects(deploy(lab, { dir: DIR, log: () => undefined, extraConfig: { backup: backupConfig, restoreFrom: `store:${tampered.path}` } }), (e: Error) => {
        assert.match(e.message, /etcd-cluster:restoreFrom: store:\S+ arrived with SHA-256 [0-9a-f]{64}, but the store's checksum file says [0-9a-f]{64}: the stored snapshot is corrupted or was altered\. Nothing was changed/);
        return true;
    });
    assert.deepEqual(hostsState(), state, "same etcd processes, same data dirs, same recorded restore");
    assert.deepEqual(keysUnder("e2e/store-restore/"), [...before, "e2e/store-restore/written-since"].sort());

    const revoked = await deploy(lab, { dir: DIR, log: () => undefined, extraConfig: { backup: backupConfig } });
    assert.deepEqual(hostsState(), state, "removing restoreFrom changes nothing on the members");
    assert.equal(readerLine(), "", `the restore key is no longer authorized (${revoked.changes.join(", ")})`);
});
