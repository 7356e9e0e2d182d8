/**
 * End to end, membership on real lab hosts, one lab of seven hosts for the whole file: 1 → 3 (allowSingleMember),
 * a host rebuilt keeping its data (labRebuild), a host lost with its data and replaced (labKill, then a fresh host),
 * a crash-looping member that stops a roll on two runs, 3 → 5 → 7 → 5 → 3 under a writer, and 3 → 7. Each
 * deployment configures the first N hosts; the others stay up, as a removed host would. Needs root and
 * systemd-nspawn; elsewhere it skips, saying why. It tears down any running lab first and always tears down its own.
 * Upgrades and refusals (dataDir, versions, CA) are in lab-upgrade.e2e.test.ts; disks kept across a rebuild in
 * lab-disks.e2e.test.ts.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { ClusterInfo, deploy } from "./lab/deploy";
import { assertHealthy, freshLab, labSkip, log, mainPids, missingWrites, ok, ssh, startWriter, tearDownLab } from "./lab/e2e-support";
import { LabHosts, labKill, labRebuild, labUp } from "./lab/hosts";
import { labDir } from "./lab/lab-id";

const DIR = labDir();
const HOSTS = 7;
const skip = labSkip("lab membership test");

let lab: LabHosts;
let info: ClusterInfo;

/** Deploys the stack configured with the first `n` lab hosts; fails the test on error. */
async function deployOn(n: number, extraConfig: Record<string, unknown> = {}): Promise<ClusterInfo> {
    const t = Date.now();
    const result = await deploy({ ...lab, hosts: lab.hosts.slice(0, n) }, { dir: DIR, extraConfig, log: () => undefined });
    log(`deploy to ${n} member(s)${Object.keys(extraConfig).length ? ` with ${JSON.stringify(extraConfig)}` : ""}: ${((Date.now() - t) / 1000).toFixed(1)}s`);
    info = result.info;
    return info;
}

/** Member names in the cluster's own member list, sorted; every one a voting member. */
function memberNames(): string[] {
    const lines = ok(info, ["member", "list", "-w", "simple"]).trim().split("\n").map((l) => l.split(", "));
    assert.deepEqual(lines.filter((l) => l[5] !== "false").map((l) => l[2]), [], "no learner left behind");
    return lines.map((l) => l[2]).sort();
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `etcd-${i + 1}`).sort();
const host = (i: number) => lab.hosts[i].address;
const onHost = (i: number, command: string) => ssh(info, host(i), command);
/** A rebuilt host has a new SSH host key: labUp on the running lab picks it up (and keeps every other host). */
const refreshHosts = async () => { lab = await labUp({ count: HOSTS, dir: DIR, log }); };

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: HOSTS });
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

test("a single member grows to three: the new members join its cluster, which keeps its data", { skip }, async () => {
    await deployOn(1, { allowSingleMember: true, nodeCount: 1 });
    const [id] = [...assertHealthy(info, 1).values()];
    ok(info, ["put", "e2e/one", "kept"]);
    await deployOn(3);
    const ids = assertHealthy(info, 3);
    assert.ok([...ids.values()].includes(id), "etcd-1 is still the same member");
    assert.deepEqual(memberNames(), names(3));
    assert.match(ok(info, ["get", "e2e/one", "--print-value-only"]), /^kept$/m, "one cluster: the first member's data is there");
});

test("a host rebuilt from scratch that keeps its data dir comes back as the same member", { skip }, async () => {
    const before = assertHealthy(info, 3).get(info.endpoints[2]);
    await labRebuild("etcd-3", { keepPaths: ["/var/lib/etcd", "/var/lib/etcd-wal"], dir: DIR, log });
    await refreshHosts();
    await deployOn(3);
    assert.equal(assertHealthy(info, 3).get(info.endpoints[2]), before, "same member ID");
    assert.match(ok(info, ["get", "e2e/one", "--print-value-only", "--consistency=s"], { endpoints: [info.endpoints[2]] }), /^kept$/m);
});

test("a host lost with its data is replaced by one deployment: the dead member is removed, the new one joins and is promoted", { skip }, async () => {
    const before = assertHealthy(info, 3).get(info.endpoints[1]);
    ok(info, ["put", "e2e/lost", "survives"]);
    await labKill("etcd-2", { dir: DIR, log });
    // A fresh machine at the same address: nothing of etcd left, data included.
    await labRebuild("etcd-2", { dir: DIR, log });
    await refreshHosts();
    await deployOn(3);
    const after = assertHealthy(info, 3).get(info.endpoints[1]);
    assert.notEqual(after, before, "the lost member never comes back under its old identity");
    assert.deepEqual(memberNames(), names(3));
    assert.match(ok(info, ["get", "e2e/lost", "--print-value-only", "--consistency=s"], { endpoints: [info.endpoints[1]] }), /^survives$/m, "the new member has the cluster's data");
});

test("a member that crash-loops after a change stops the roll, and a second run still refuses", { skip }, async () => {
    const links = () => [0, 1, 2].map((i) => onHost(i, "readlink /etc/etcd/current"));
    const before = links();
    const pids = mainPids(info);
    onHost(0, "mkdir -p /etc/systemd/system/etcd.service.d && printf '[Service]\\nExecStartPre=/bin/false\\n' > /etc/systemd/system/etcd.service.d/crash.conf && systemctl daemon-reload");
    for (const run of ["first", "second"]) {
        await assert.rejects(deployOn(3, { snapshotCount: 5000 }), (e: Error) => {
            assert.match(e.message, /etcd-cluster: member etcd-1: etcd did not start with configuration [0-9a-f]{16}/, `${run} run names the member and what is wrong`);
            return true;
        });
        assert.deepEqual(links().slice(1), before.slice(1), `${run} run: etcd-2 and etcd-3 keep their configuration`);
        assert.deepEqual(mainPids(info).slice(1), pids.slice(1), `${run} run: etcd-2 and etcd-3 were not restarted`);
    }
    onHost(0, "rm -r /etc/systemd/system/etcd.service.d && systemctl daemon-reload");
    await deployOn(3, { snapshotCount: 5000 });
    assertHealthy(info, 3);
    for (const i of [0, 1, 2]) assert.equal(onHost(i, "grep ^ETCD_SNAPSHOT_COUNT= /etc/etcd/current/etcd.env"), "ETCD_SNAPSHOT_COUNT=5000");
});

test("3 → 5 → 7 → 5 → 3 under a writer: nothing acknowledged is lost, no existing member restarts or gets new certificates, removed hosts are retired", { skip }, async () => {
    const pids = mainPids(info);
    const certificates = () => [0, 1, 2].map((i) => onHost(i, "sha256sum /etc/etcd/current/pki/*.crt"));
    const certificatesBefore = certificates();
    const writer = startWriter(info, "e2e/scale/");
    await new Promise((r) => setTimeout(r, 2000));
    for (const n of [5, 7, 5, 3]) {
        await deployOn(n, { snapshotCount: 5000 });
        assertHealthy(info, n);
        assert.deepEqual(memberNames(), names(n));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const { acked, failed, longestGapMs } = await writer.stop();
    log(`3 → 5 → 7 → 5 → 3: ${acked.length} writes acknowledged, ${failed} failed, longest gap ${longestGapMs} ms`);
    assert.equal(failed, 0, "no write failed after client retries");
    assert.ok(acked.length > 20, `the writer kept writing (${acked.length})`);
    assert.deepEqual(missingWrites(info, "e2e/scale/", acked), [], "every acknowledged write is readable");
    assert.deepEqual(mainPids(info), pids, "no existing member restarted");
    assert.deepEqual(certificates(), certificatesBefore, "no existing member's certificates changed");
    for (const i of [3, 4, 5, 6]) {
        const h = lab.hosts[i].name;
        assert.equal(onHost(i, "systemctl is-active etcd.service || true"), "inactive", `${h}: etcd stopped once removed`);
        assert.equal(onHost(i, "systemctl is-enabled etcd.service || true"), "disabled", `${h}: etcd does not come back at boot`);
        assert.equal(onHost(i, "test -d /var/lib/etcd/member && echo present || echo moved"), "moved", `${h}: data moved out of etcd's way`);
        assert.match(onHost(i, "ls -d /var/lib/etcd/member.removed-*"), /member\.removed-\d{8}T\d{6}Z/, `${h}: data kept aside, never deleted`);
    }
});

test("3 → 7 in one deployment: the four newcomers join the existing cluster, never a second one", { skip }, async () => {
    ok(info, ["put", "e2e/seven", "one cluster"]);
    const [clusterId] = new Set(JSON.parse(ok(info, ["endpoint", "status", "-w", "json"]).replace(/:(\d{15,})/g, ':"$1"')).map((s: { Status: { header: { cluster_id: string } } }) => String(s.Status.header.cluster_id)));
    await deployOn(7, { snapshotCount: 5000 });
    assertHealthy(info, 7);
    assert.deepEqual(memberNames(), names(7));
    const ids = new Set(JSON.parse(ok(info, ["endpoint", "status", "-w", "json"]).replace(/:(\d{15,})/g, ':"$1"')).map((s: { Status: { header: { cluster_id: string } } }) => String(s.Status.header.cluster_id)));
    assert.deepEqual([...ids], [clusterId], "every member answers with the first cluster's ID");
    for (const endpoint of info.endpoints) {
        assert.match(ok(info, ["get", "e2e/seven", "--print-value-only", "--consistency=s"], { endpoints: [endpoint] }), /^one cluster$/m, `${endpoint} serves the cluster's data`);
    }
});
