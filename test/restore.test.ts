import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigReader } from "../components/config/reader";
import { readRestore, restoreKey } from "../components/config/restore";
import { sha256 } from "../components/digest";
import { planMember } from "../components/plan";
import { renderRestoreCheckScript, renderRestoreGateScript, renderRestoreMemberScript, RestorePaths, uploadedSnapshotPath } from "../components/scripts/restore";
import { fakeTools, FakeTools, runScript } from "./support/fake-tools";
import { byType, hostsConfig, named, runProgram } from "./support/program";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-restore-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SNAPSHOT = Buffer.from("an etcd snapshot, as far as these tests are concerned\n");
const SHA = sha256(SNAPSHOT);
const KEY = restoreKey(SHA, "");

function snapshotFile(name: string, content: Buffer = SNAPSHOT): string {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, content);
    return file;
}

function read(raw: Record<string, unknown>) {
    const r = new ConfigReader(raw);
    return { restore: readRestore(r, { cwd: tmp }), errors: r.errors };
}

test("restoreFrom names a local snapshot; the restore is keyed by its SHA-256 and restoreId", () => {
    snapshotFile("plain.db");
    const plain = read({ restoreFrom: "plain.db" });
    assert.deepEqual(plain.errors, []);
    assert.deepEqual(plain.restore, { kind: "file", path: path.join(tmp, "plain.db"), sha256: SHA, id: "", key: KEY });
    const again = read({ restoreFrom: "plain.db", restoreId: "2026-11-23" });
    assert.equal(again.restore?.kind, "file");
    assert.notEqual(again.restore.key, KEY, "a new restoreId restores the same snapshot again");
    assert.deepEqual(read({}), { restore: undefined, errors: [] });
});

test("a missing snapshot, a bad restoreId, and a snapshot that does not match its store checksum are refused, naming the key", () => {
    assert.match(read({ restoreFrom: "nowhere.db" }).errors.join("\n"), /^etcd-cluster:restoreFrom: "nowhere\.db" is not allowed; .*is not a file/);
    assert.match(read({ restoreFrom: "plain.db", restoreId: "a b" }).errors.join("\n"), /^etcd-cluster:restoreId: "a b" is not allowed/);
    assert.match(read({ restoreId: "1" }).errors.join("\n"), /^etcd-cluster:restoreId: "1" is not allowed; it only means something with etcd-cluster:restoreFrom/);

    const stored = snapshotFile("20261123T181500Z-rev4711.db");
    fs.writeFileSync(`${stored}.sha256`, `${SHA}  20261123T181500Z-rev4711.db\n`);
    assert.deepEqual(read({ restoreFrom: stored }).errors, [], "a store snapshot with its matching checksum");
    snapshotFile("20261123T181500Z-rev4711.db", Buffer.concat([SNAPSHOT, Buffer.from("x")]));
    const corrupted = read({ restoreFrom: stored });
    assert.equal(corrupted.restore, undefined);
    assert.match(corrupted.errors.join("\n"), /^etcd-cluster:restoreFrom: .*its SHA-256 is [0-9a-f]{64}, but .*\.sha256 says [0-9a-f]{64}: the snapshot is corrupted/);
    fs.writeFileSync(`${stored}.sha256`, `${SHA}  another.db\n`);
    assert.match(read({ restoreFrom: stored }).errors.join("\n"), /is not a checksum line for 20261123T181500Z-rev4711\.db/);
});

test("with restoreFrom, every member gets the snapshot as a file and checks it; the restore waits for every check, the users' setup for the restore gate", () => {
    const file = snapshotFile("program.db");
    const run = runProgram(hostsConfig(3, { restoreFrom: file }));
    assert.equal(run.error, undefined);
    const uploads = byType(run, "command:remote:CopyToRemote").filter((r) => r.name.endsWith("-restore-upload"));
    assert.deepEqual(uploads.map((u) => u.inputs.remotePath), [1, 2, 3].map(() => uploadedSnapshotPath(SHA)));
    for (const name of ["etcd-1", "etcd-2", "etcd-3"]) {
        const restore = named(run, `${name}-restore`);
        assert.ok(!String(restore.inputs.create).includes(SNAPSHOT.toString().trim()), "the snapshot never travels in a command");
        assert.match(String(restore.inputs.create), /--bump-revision 1000000000 --mark-compacted/);
        for (const check of ["etcd-1", "etcd-2", "etcd-3"]) assert.ok(named(run, `${check}-restore-check`).finished <= restore.started, `${name}'s restore waits for ${check}'s check`);
        assert.ok(named(run, `${name}-apply`).finished <= named(run, `${name}-restore-upload`).started, "the restore comes after the members are applied");
        assert.ok(restore.finished <= named(run, "etcd-restore-gate").started);
    }
    assert.ok(named(run, "etcd-restore-gate").finished <= named(run, "etcd-auth").started);
    assert.equal(runProgram(hostsConfig(3)).resources.filter((r) => r.name.includes("restore")).length, 0, "no restore without restoreFrom");
});

test("the restore scripts pass shellcheck", () => {
    const member = { memberName: "etcd-2", snapshotSha256: SHA, key: KEY, etcdutl: "/opt/etcd/v3.5.30/etcdutl" };
    for (const [name, script] of [
        ["check", renderRestoreCheckScript(member)],
        ["member", renderRestoreMemberScript({ ...member, ...memberOptions("/var/lib/etcd", "/var/lib/etcd-wal", "/opt/etcd/v3.5.30/etcdctl") })],
        ["gate", renderRestoreGateScript({ etcdVersion: "3.5.30", members: [planMember("etcd-1", "10.0.0.1")], key: KEY, timeoutSeconds: 60 })],
    ]) {
        const file = path.join(tmp, `${name}.sh`);
        fs.writeFileSync(file, script);
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
        if (r.error) throw new Error(`shellcheck is required for this test (see .ci/setup): ${r.error.message}`);
        assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
    }
});

function memberOptions(dataDir: string, walDir: string, etcdctl: string) {
    return {
        etcdctl, dataDir, walDir, peerUrl: "https://10.0.0.2:2380",
        endpoints: ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"],
        initialCluster: "etcd-1=https://10.0.0.1:2380,etcd-2=https://10.0.0.2:2380,etcd-3=https://10.0.0.3:2380",
        clusterToken: `etcd-cluster-lab-0123456789abcdef-restore-${KEY}`,
    };
}

/**
 * A host in a scratch directory with stand-ins for etcdutl (`snapshot status` answers $FAKE/status, fails when
 * $FAKE/status-fails exists; `snapshot restore` makes a member and WAL dir, fails when $FAKE/corrupt exists), etcdctl
 * (`get` answers $FAKE/cluster-key) and systemctl.
 */
interface Host { fake: FakeTools; paths: RestorePaths; dataDir: string; walDir: string; options: { memberName: string; snapshotSha256: string; key: string; etcdutl: string; paths: RestorePaths } }

function host(): Host {
    const fake = fakeTools(tmp, {
        etcdutl: `case "$1 $2" in
  "snapshot status") [ ! -e "$FAKE/status-fails" ] || { echo "Error: invalid database" >&2; exit 1; }; cat "$FAKE/status" ;;
  "snapshot restore")
    [ ! -e "$FAKE/corrupt" ] || { echo "Error: expected sha256 [1 2 3], got [4 5 6]" >&2; exit 1; }
    data=""; wal=""
    while [ $# -gt 0 ]; do case "$1" in --data-dir) data=$2; shift ;; --wal-dir) wal=$2; shift ;; esac; shift; done
    mkdir -p "$data/member/snap"; echo restored > "$data/member/snap/db"
    if [ -n "$wal" ]; then mkdir -p "$wal"; echo restored > "$wal/0.wal"; fi ;;
esac`,
        etcdctl: `cat "$FAKE/cluster-key" 2>/dev/null || true`,
        systemctl: "true",
    });
    const paths = { marker: path.join(fake.dir, "restored"), dir: path.join(fake.dir, "restore"), uploadDir: fake.dir };
    fs.writeFileSync(path.join(fake.dir, "status"), '{"hash":1234,"revision":42,"totalKey":7,"totalSize":20480,"version":"3.5.0"}\n');
    fs.writeFileSync(uploadedSnapshotPath(SHA, paths), SNAPSHOT);
    const dataDir = path.join(fake.dir, "data");
    const walDir = path.join(fake.dir, "wal-disk");
    fs.mkdirSync(path.join(dataDir, "member", "snap"), { recursive: true });
    fs.writeFileSync(path.join(dataDir, "member", "snap", "db"), "old data");
    fs.mkdirSync(path.join(walDir, "wal"), { recursive: true });
    fs.writeFileSync(path.join(walDir, "wal", "0.wal"), "old wal");
    return { fake, paths, dataDir, walDir, options: { memberName: "etcd-2", snapshotSha256: SHA, key: KEY, etcdutl: path.join(fake.bin, "etcdutl"), paths } };
}

const check = (h: Host) => runScript(h.fake, renderRestoreCheckScript(h.options));
const restore = (h: Host) => runScript(h.fake, renderRestoreMemberScript({ ...h.options, ...memberOptions(h.dataDir, h.walDir, path.join(h.fake.bin, "etcdctl")) }));
const checked = (h: Host) => path.join(h.paths.dir, `${SHA}.db`);

test("the check keeps a private copy of a good snapshot after etcd's integrity check (a trial restore)", () => {
    const h = host();
    const r = check(h);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /snapshot [0-9a-f]{64} checked: revision 42, integrity hash verified/);
    assert.deepEqual(fs.readFileSync(checked(h)), SNAPSHOT);
    assert.ok(h.fake.calls().some((c) => c.startsWith("etcdutl snapshot restore")), "a trial restore verifies the hash");
    assert.deepEqual(fs.readdirSync(h.paths.dir), [`${SHA}.db`], "the trial restore leaves nothing behind");
});

test("the check refuses a damaged upload, an unreadable snapshot, revision 0 and a failed integrity hash", () => {
    const damaged = host();
    fs.appendFileSync(uploadedSnapshotPath(SHA, damaged.paths), "x");
    const r1 = check(damaged);
    assert.equal(r1.status, 1);
    assert.match(r1.stderr, /etcd-cluster:restoreFrom: the copy uploaded to .* has SHA-256 [0-9a-f]{64}, the snapshot has [0-9a-f]{64}: it was damaged on the way\. Nothing was changed/);
    assert.equal(fs.existsSync(checked(damaged)), false);

    const unreadable = host();
    fs.writeFileSync(path.join(unreadable.fake.dir, "status-fails"), "");
    assert.match(check(unreadable).stderr, /etcdutl cannot read the snapshot: Error: invalid database/);

    const empty = host();
    fs.writeFileSync(path.join(empty.fake.dir, "status"), '{"hash":0,"revision":0,"totalKey":0,"totalSize":0}\n');
    assert.match(check(empty).stderr, /the snapshot holds revision 0/);

    const corrupt = host();
    fs.writeFileSync(path.join(corrupt.fake.dir, "corrupt"), "");
    const r4 = check(corrupt);
    assert.equal(r4.status, 1);
    assert.match(r4.stderr, /the snapshot fails etcd's integrity check: Error: expected sha256/);
    assert.deepEqual(fs.readdirSync(corrupt.paths.dir), [`${SHA}.db`], "the trial restore's scratch dir is gone");
});

test("a member is restored into fresh data with a new token, bumped and compacted revisions; its old data and WAL are moved aside, never deleted", () => {
    const h = host();
    assert.equal(check(h).status, 0);
    const r = restore(h);
    assert.equal(r.status, 0, r.stderr);
    const calls = h.fake.calls();
    const stop = calls.indexOf("systemctl stop etcd.service");
    const restoreCall = calls.findIndex((c, i) => i > stop && c.startsWith("etcdutl snapshot restore"));
    assert.ok(stop >= 0 && restoreCall > stop, calls.join("\n"));
    assert.match(calls[restoreCall], new RegExp(`--name etcd-2 --initial-cluster etcd-1=https://10.0.0.1:2380,etcd-2=https://10.0.0.2:2380,etcd-3=https://10.0.0.3:2380 --initial-cluster-token etcd-cluster-lab-0123456789abcdef-restore-${KEY} --initial-advertise-peer-urls https://10.0.0.2:2380 .*--bump-revision 1000000000 --mark-compacted`));
    assert.equal(calls.at(-1), "systemctl start --no-block etcd.service");
    assert.equal(fs.readFileSync(path.join(h.dataDir, "member", "snap", "db"), "utf8"), "restored\n");
    assert.equal(fs.readFileSync(path.join(h.walDir, "wal", "0.wal"), "utf8"), "restored\n");
    const aside = fs.readdirSync(h.dataDir).filter((d) => d.startsWith("member.before-restore-"));
    assert.equal(aside.length, 1, fs.readdirSync(h.dataDir).join(", "));
    assert.match(aside[0], /^member\.before-restore-\d{8}T\d{6}Z$/);
    assert.equal(fs.readFileSync(path.join(h.dataDir, aside[0], "snap", "db"), "utf8"), "old data");
    const walAside = fs.readdirSync(h.walDir).filter((d) => d.startsWith("wal.before-restore-"));
    assert.equal(fs.readFileSync(path.join(h.walDir, walAside[0], "0.wal"), "utf8"), "old wal");
    assert.equal(fs.readFileSync(h.paths.marker, "utf8"), `${KEY}\n`);

    const before = h.fake.calls().length;
    for (const again of [check(h), restore(h)]) {
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stdout, /holds the data of restore [0-9a-f]{16} already; nothing to do/);
    }
    assert.deepEqual(h.fake.calls().slice(before), [], "run again: no stop, no restore, no start");
});

test("a member that joined the restored cluster afterwards only records the restore; a failed restore leaves the old data in place", () => {
    const joined = host();
    fs.writeFileSync(path.join(joined.fake.dir, "cluster-key"), `${KEY}\n`);
    const r = restore(joined);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /the cluster already runs restore .*nothing to restore/);
    assert.ok(!joined.fake.calls().some((c) => c.startsWith("systemctl") || c.startsWith("etcdutl")), joined.fake.calls().join("\n"));
    assert.equal(fs.readFileSync(path.join(joined.dataDir, "member", "snap", "db"), "utf8"), "old data");

    const failing = host();
    assert.equal(check(failing).status, 0);
    fs.writeFileSync(path.join(failing.fake.dir, "corrupt"), "");
    const f = restore(failing);
    assert.equal(f.status, 1);
    assert.match(f.stderr, /etcdutl snapshot restore failed: .*its data is untouched in .*\/member/);
    assert.equal(fs.readFileSync(path.join(failing.dataDir, "member", "snap", "db"), "utf8"), "old data");
    assert.equal(fs.existsSync(failing.paths.marker), false);
});
