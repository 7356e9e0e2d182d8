/**
 * The preflight script's decisions, run by bash against stand-ins for fio, timedatectl and systemctl: a failed
 * check stops the member with the measured figure unless waived, and figures are measured once per machine.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parsePreflightFigures, PreflightOptions, renderMachineChecksScript } from "../components/scripts/preflight";
import { FakeTools, fakeTools, runScript } from "./support/fake-tools";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-preflight-"));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

// fio prints its normal report with the p99 (usec) from $FAKE/p99; timedatectl answers from $FAKE/time.
const TOOLS = {
    fio: `cat <<EOF
  fsync/fdatasync/sync_file_range:
    sync (usec): min=105, max=36006, avg=3356.43, stdev=3394.99
    sync percentiles (usec):
     |  1.00th=[  194],  5.00th=[  297], 10.00th=[  420], 20.00th=[  603],
     | 90.00th=[ 7898], 95.00th=[ 9765],
     | 99.00th=[$(cat "$FAKE/p99")], 99.50th=[16909], 99.90th=[28181], 99.95th=[35914],
EOF`,
    timedatectl: `cat "$FAKE/time"`,
    systemctl: `[ -f "$FAKE/etcd-active" ]`,
};

interface Machine { fake: FakeTools; run(o?: Partial<PreflightOptions>): ReturnType<typeof runScript>; record: string }

function machine(p99Usec: number, time = "NTP=yes\nNTPSynchronized=yes"): Machine {
    const fake = fakeTools(root, TOOLS);
    fs.writeFileSync(path.join(fake.dir, "p99"), String(p99Usec));
    fs.writeFileSync(path.join(fake.dir, "time"), `${time}\n`);
    const record = path.join(fake.dir, "state", "preflight.json");
    return {
        fake, record,
        run: (o = {}) => runScript(fake, renderMachineChecksScript({
            memberName: "etcd-1", dataDir: path.join(fake.dir, "etcd"), walDir: path.join(fake.dir, "etcd-wal"),
            walFsyncP99Ms: 10, waive: {}, requiredDataBytes: 1024, record, ...o,
        })),
    };
}

const fioRuns = (m: Machine) => m.fake.calls().filter((c) => c.startsWith("fio ")).length;

test("a fast WAL disk, a synchronised clock and room for the quota pass; the figures are reported and kept", () => {
    const m = machine(2343);
    const r = m.run();
    assert.equal(r.status, 0, r.stderr);
    const figures = parsePreflightFigures(r.stdout)!;
    assert.equal(figures.walFsyncP99Ms, 2.343);
    assert.equal(figures.timeService, "timedatectl: time service active: yes, clock synchronised: yes");
    assert.ok(figures.dataAvailableBytes > 1024);
    assert.match(m.fake.calls()[0], /^fio --rw=write --ioengine=sync --fdatasync=1 --directory=\S+ --size=4m --bs=2300 /);
    assert.deepEqual(JSON.parse(fs.readFileSync(m.record, "utf8")), figures);
});

test("once passed on a machine, the checks are not run again: the kept figures are reported", () => {
    const m = machine(2343);
    const first = parsePreflightFigures(m.run().stdout);
    fs.writeFileSync(path.join(m.fake.dir, "p99"), "99999");
    const again = m.run();
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(parsePreflightFigures(again.stdout), first);
    assert.equal(fioRuns(m), 1);
});

test("a slow WAL disk stops the member with the measured p99, and nothing is recorded, so the next run checks again", () => {
    const m = machine(15533);
    const r = m.run();
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /preflight failed; etcd is not started on this machine:\n  - the WAL disk \(\S+\) is too slow for etcd: fdatasync p99 is 15\.533 ms, the threshold is 10 ms \(etcd-cluster:preflight\.walFsyncP99Ms\)/);
    assert.equal(fs.existsSync(m.record), false);
    assert.equal(m.run({ walFsyncP99Ms: 20 }).status, 0, "a higher threshold lets it pass");
});

test("a waived check is still measured and reported, but does not stop the member", () => {
    const m = machine(15533, "NTP=no\nNTPSynchronized=no");
    const r = m.run({ waive: { fsync: "a test disk", timeSync: "no time server here" } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /waived: the WAL disk .* fdatasync p99 is 15\.533 ms/);
    assert.match(r.stdout, /waived: no time service is running with a synchronised clock \(timedatectl: time service active: no, clock synchronised: no\)/);
    assert.equal(parsePreflightFigures(r.stdout)!.walFsyncP99Ms, 15.533);
});

test("no running time service, or an unsynchronised clock, stops the member, saying what was found", () => {
    for (const time of ["NTP=no\nNTPSynchronized=yes", "NTP=yes\nNTPSynchronized=no"]) {
        const r = machine(2000, time).run();
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /no time service is running with a synchronised clock \(timedatectl: time service active: (no|yes), clock synchronised: (yes|no)\).*etcd-cluster:preflight\.waive\.timeSync/);
    }
});

test("a data disk without room for the quota stops the member with the bytes it offers and needs", () => {
    const r = machine(2000).run({ requiredDataBytes: 2 ** 50 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /the data disk \(\S+\) offers etcd \d+ bytes \(\d+ free \+ 0 already etcd's\), less than the 1125899906842624 it needs/);
});

test("on a machine where etcd already runs, failed checks are reported but do not stop it", () => {
    const m = machine(15533);
    fs.writeFileSync(path.join(m.fake.dir, "etcd-active"), "");
    const r = m.run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /etcd already runs on this machine, so these are reported, not enforced: the WAL disk/);
});
