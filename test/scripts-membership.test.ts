// The remote scripts' decisions, against a fake cluster (test/support/fakeCluster.ts): restart gate, health
// judgement, join-or-bootstrap, membership reconcile. Removing any of these gates fails a test here.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { releaseDir } from "../components/layout";
import { MemberPlan } from "../components/plan";
import { ClusterMode, renderApplyScript } from "../components/scripts/apply";
import { renderReconcileScript, renderRetireScript, renderSurveyScript } from "../components/scripts/membership";
import { FakeHost, VERSION, fakeHost, memberLine } from "./support/fakeCluster";

const NEW = "2222222222222222";
const OLD = "1111111111111111";
const ids = ["a1", "a2", "a3", "a4", "a5"];

/** `timeoutSeconds` bounds every wait: short where a test expects the wait to run out, long where it must not. */
function apply(host: FakeHost, self: number, mode: ClusterMode = "existing", timeoutSeconds = 4): { status: number; stdout: string; stderr: string } {
    return host.run(renderApplyScript({
        member: host.members[self], members: host.members, etcdVersion: VERSION, dataDir: "/var/lib/etcd",
        digest: NEW, token: "etcd-cluster-test-token", mode, timeoutSeconds,
    }));
}

/** A host whose configure step staged NEW; with `running`, etcd runs OLD on data of its own. */
function stagedHost(n: number, self: number, lines: (m: MemberPlan[]) => string[], running = true): FakeHost {
    const host = fakeHost(n, self, lines);
    for (const digest of running ? [NEW, OLD] : [NEW]) {
        fs.mkdirSync(host.hostPath(`${releaseDir(digest)}/pki`), { recursive: true });
        fs.writeFileSync(host.hostPath(`${releaseDir(digest)}/etcd.service`), `unit ${digest}\n`);
    }
    fs.mkdirSync(host.hostPath("/var/lib/etcd-cluster"), { recursive: true });
    if (running) {
        fs.mkdirSync(host.hostPath("/var/lib/etcd/member"), { recursive: true });
        fs.symlinkSync(`releases/${OLD}`, host.hostPath("/etc/etcd/current"));
        fs.writeFileSync(host.hostPath("/var/lib/etcd-cluster/applied"), `${OLD}\n`);
        host.write("unit", "active");
    }
    return host;
}

const healthy = (n: number) => (m: MemberPlan[]) => m.slice(0, n).map((p, i) => memberLine(p, ids[i]));
const current = (host: FakeHost) => fs.readlinkSync(host.hostPath("/etc/etcd/current"));
const restarts = (host: FakeHost) => host.log().filter((l) => /^systemctl (re)?start/.test(l));
const firstLine = (stderr: string) => stderr.split("\n")[0];

test("a changed member restarts only after leadership moved away, and its stamp is written once it and the cluster are healthy", () => {
    const host = stagedHost(3, 0, healthy(3));
    const r = apply(host, 0, "existing", 60);
    assert.equal(r.status, 0, r.stderr);
    const log = host.log();
    const moved = log.findIndex((l) => l.startsWith("etcdctl move-leader"));
    const restarted = log.findIndex((l) => l === "systemctl restart etcd.service");
    assert.ok(moved >= 0 && moved < restarted, `leadership moves before the restart:\n${log.join("\n")}`);
    assert.equal(current(host), `releases/${NEW}`);
    assert.notEqual(host.read("leader").trim(), "a1");
    assert.equal(fs.readFileSync(host.hostPath("/var/lib/etcd-cluster/applied"), "utf8").trim(), NEW);
    assert.equal(apply(host, 0).status, 0);
    assert.equal(restarts(host).length, 1, "a second run with nothing changed restarts nothing");
});

test("a single-member cluster (allowSingleMember) restarts its member with a new configuration", () => {
    const host = stagedHost(1, 0, healthy(1));
    const r = apply(host, 0, "existing", 60);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(restarts(host), ["systemctl restart etcd.service"]);
});

test("a member is not restarted while another member is unhealthy, and its staged files are not switched in", () => {
    const host = stagedHost(3, 0, healthy(3));
    host.write("unhealthy", "https://127.0.0.12:2379\n");
    const r = apply(host, 0);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /^etcd-cluster: member etcd-1: refusing to restart etcd: the other members are not healthy: .*127\.0\.0\.12/);
    assert.deepEqual(restarts(host), []);
    assert.equal(current(host), `releases/${OLD}`, "an unplanned restart would still run the old configuration");
});

test("members that also advertise DNS names are judged and asked at their addresses: names that do not resolve on the hosts change nothing", () => {
    const named = (m: MemberPlan[]) => m.map((p, i) => memberLine(p, ids[i]).replace(p.clientUrl, `https://${p.name}.example.com:2379,${p.clientUrl}`));
    const host = stagedHost(3, 0, named);
    host.write("unhealthy", host.members.map((m) => `https://${m.name}.example.com:2379\n`).join(""));
    const r = apply(host, 0, "existing", 60);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(restarts(host), ["systemctl restart etcd.service"]);
    assert.deepEqual(host.log().filter((l) => l.includes("example.com")), [], "no etcdctl call goes to a name");
});

test("a member that crash-loops with its new configuration stops the roll on this run and on every later run", () => {
    const host = stagedHost(3, 0, healthy(3));
    host.write("crash", "");
    const first = apply(host, 0);
    assert.notEqual(first.status, 0);
    assert.match(firstLine(first.stderr), /^etcd-cluster: member etcd-1: etcd did not start with configuration 2222222222222222 .*address already in use.*run pulumi up again/);
    // etcd is down now (systemd retries it); the others are healthy, so the next run may try again, and fails again.
    host.write("unhealthy", "https://127.0.0.11:2379\n");
    const second = apply(host, 0);
    assert.notEqual(second.status, 0, "a second run must not report the member done");
    assert.match(firstLine(second.stderr), /etcd did not start/);
    // Between crashes systemd shows the unit activating (auto-restart) with the switched configuration: that too is
    // a crash, not a machine coming back: started once more, it fails at once rather than after the whole timeout.
    host.write("unit", "activating");
    host.write("substate", "auto-restart");
    const looping = apply(host, 0, "existing", 120);
    assert.notEqual(looping.status, 0);
    assert.match(firstLine(looping.stderr), /^etcd-cluster: member etcd-1: etcd did not start with configuration 2222222222222222/);
    assert.equal(fs.readFileSync(host.hostPath("/var/lib/etcd-cluster/applied"), "utf8").trim(), OLD, "the stamp names the last healthy configuration");
    // The cause fixed while systemd waits to restart it: the next run starts it at once and it is done.
    fs.rmSync(path.join(host.state, "crash"));
    host.write("unit", "activating");
    const fixed = apply(host, 0, "existing", 60);
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.equal(fs.readFileSync(host.hostPath("/var/lib/etcd-cluster/applied"), "utf8").trim(), NEW);
});

test("the health judgement fails at once when another cluster answers at a member's address", () => {
    const host = stagedHost(3, 0, healthy(3));
    host.write("cluster_id.https___127_0_0_13_2379", "999");
    const r = apply(host, 0);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /different cluster IDs \(111 999\): another etcd cluster runs at one of/);
    assert.equal(host.log().filter((l) => l.startsWith("etcdctl endpoint health")).length, 1, "no waiting on a problem that waiting cannot fix");
});

test("a host with data that the cluster no longer lists fails at once, saying how to re-add it", () => {
    const host = stagedHost(3, 2, healthy(2));
    const r = apply(host, 2);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /^etcd-cluster: member etcd-3: this host holds etcd data .*\(it was removed\)\. .*move \/.*\/var\/lib\/etcd\/member and the WAL .* aside .*never delete them/);
    assert.deepEqual(restarts(host), []);
});

test("an empty member bootstraps a new cluster without waiting only when the survey found none and no peer answers", () => {
    const host = stagedHost(3, 0, () => [], false);
    const r = apply(host, 0, "new");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(restarts(host), ["systemctl start --no-block etcd.service"]);
    const env = fs.readFileSync(host.hostPath("/etc/etcd/bootstrap.env"), "utf8");
    assert.match(env, /^ETCD_INITIAL_CLUSTER_STATE=new$/m);
    assert.match(env, /^ETCD_INITIAL_CLUSTER=etcd-1=https:\/\/127\.0\.0\.11:2380,etcd-2=https:\/\/127\.0\.0\.12:2380,etcd-3=https:\/\/127\.0\.0\.13:2380$/m);

    const joining = stagedHost(3, 0, () => [], false);
    const refused = apply(joining, 0, "existing");
    assert.notEqual(refused.status, 0);
    assert.match(firstLine(refused.stderr), /^etcd-cluster: member etcd-1: this host has no etcd data and must join the existing cluster, but no member answers/);
    assert.deepEqual(restarts(joining), [], "never a second cluster");
});

test("an empty member joins a running cluster as a learner with the actual membership, and is promoted once caught up", () => {
    const host = stagedHost(5, 3, healthy(3), false);
    host.write("promote_refusals", "2");
    const r = apply(host, 3, "new", 120);
    assert.equal(r.status, 0, r.stderr);
    const log = host.log();
    const add = log.findIndex((l) => /^etcdctl .*member add etcd-4 --peer-urls=https:\/\/127\.0\.0\.14:2380 --learner/.test(l));
    const start = log.indexOf("systemctl start etcd.service");
    const promotes = log.filter((l) => l.startsWith("etcdctl member promote"));
    assert.ok(add >= 0 && add < start, `announced before it starts:\n${log.join("\n")}`);
    assert.equal(promotes.length, 3, "a promotion refused while the learner catches up is retried");
    const env = host.read("bootstrap-at-start");
    assert.match(env, /^ETCD_INITIAL_CLUSTER_STATE=existing$/m);
    assert.match(env, /^ETCD_INITIAL_CLUSTER=etcd-1=https:\/\/127\.0\.0\.11:2380,etcd-2=https:\/\/127\.0\.0\.12:2380,etcd-3=https:\/\/127\.0\.0\.13:2380,etcd-4=https:\/\/127\.0\.0\.14:2380$/m);
    assert.match(host.read("members"), /, started, etcd-4, https:\/\/127\.0\.0\.14:2380, https:\/\/127\.0\.0\.14:2379, false$/m);
    assert.ok(!fs.existsSync(host.hostPath("/etc/etcd/bootstrap.env")), "bootstrap settings go once the member is verified");
});

test("a member whose data is gone is removed and joins again as a new member, never under its old identity", () => {
    const host = stagedHost(3, 1, (m) => [memberLine(m[0], "a1"), memberLine(m[1], "a2"), memberLine(m[2], "a3")], false);
    host.write("unhealthy", "https://127.0.0.12:2379\n");
    const r = apply(host, 1, "existing", 60);
    assert.equal(r.status, 0, r.stderr);
    const log = host.log();
    assert.ok(log.findIndex((l) => l.startsWith("etcdctl member remove a2")) < log.findIndex((l) => l.startsWith("etcdctl member add etcd-2")), log.join("\n"));
    assert.doesNotMatch(host.read("members"), /^a2, /m);
});

test("a member late to its cluster's bootstrap joins under the identity its peers gave it, and does not wait for the members after it", () => {
    // Its peers bootstrapped without it and etcd-5: etcd lists both by name, but neither published a client URL.
    const unpublished = (m: MemberPlan, id: string) => memberLine(m, id).replace(`, ${m.clientUrl}, `, ", , ");
    const host = stagedHost(5, 3, (m) => [...healthy(3)(m), unpublished(m[3], "a4"), unpublished(m[4], "a5")], false);
    const r = apply(host, 3, "new", 60);
    assert.equal(r.status, 0, r.stderr);
    const log = host.log();
    assert.deepEqual(log.filter((l) => /^etcdctl member (remove|add|promote)/.test(l)), [], log.join("\n"));
    assert.match(host.read("bootstrap-at-start"), /^ETCD_INITIAL_CLUSTER_STATE=existing$/m);
    assert.match(host.read("members"), /^a4, started, etcd-4, https:\/\/127\.0\.0\.14:2380, https:\/\/127\.0\.0\.14:2379, false$/m);
    assert.match(r.stdout, /voting members that never started \(https:\/\/127\.0\.0\.15:2380\)/);
});

test("the health judgement names a voting member that never started, even one etcd lists by name from a bootstrap", () => {
    const host = stagedHost(4, 0, (m) => [...healthy(3)(m), memberLine(m[3], "a4").replace(m[3].clientUrl, "")]);
    const r = apply(host, 0);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /refusing to restart etcd: the other members are not healthy: voting members that never started: https:\/\/127\.0\.0\.14:2380; $/);
    assert.deepEqual(restarts(host), []);
});

function reconcile(host: FakeHost, want: number): { status: number; stdout: string; stderr: string } {
    return host.run(renderReconcileScript({ etcdVersion: VERSION, members: host.members.slice(0, want), certificates: releaseDir(NEW), timeoutSeconds: 60 }));
}

test("scale-in removes departed members one at a time, moving leadership off a departing leader first", () => {
    const host = stagedHost(5, 0, healthy(5));
    host.write("leader", "a5");
    const r = reconcile(host, 3);
    assert.equal(r.status, 0, r.stderr);
    const log = host.log();
    const removals = log.filter((l) => l.startsWith("etcdctl member remove"));
    assert.deepEqual(removals.map((l) => l.split(" ")[3]), ["a4", "a5"]);
    const moved = log.findIndex((l) => l.startsWith("etcdctl move-leader"));
    assert.ok(moved >= 0 && moved < log.findIndex((l) => l.startsWith("etcdctl member remove a5")), "leadership leaves a5 before a5 is removed");
    assert.deepEqual(host.read("members").trim().split("\n").map((l) => l.split(", ")[2]), ["etcd-1", "etcd-2", "etcd-3"]);
    assert.equal(reconcile(host, 3).status, 0);
    assert.equal(host.log().filter((l) => l.startsWith("etcdctl member remove")).length, 2, "nothing more to remove");
});

test("scale-in refuses to remove a member when the members that stay hold no healthy majority of the current size", () => {
    const host = stagedHost(5, 0, healthy(5));
    host.write("unhealthy", "https://127.0.0.12:2379\nhttps://127.0.0.13:2379\n");
    const r = reconcile(host, 3);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /^etcd-cluster: membership reconcile: refusing to remove etcd-4 .*only 2 are healthy, fewer than a majority of the current 5/);
    assert.equal(host.log().filter((l) => l.startsWith("etcdctl member remove")).length, 0);
});

test("the survey says existing when the cluster answers, new only when nothing runs and this host has no data", () => {
    const survey = (host: FakeHost) => host.run(renderSurveyScript({ etcdVersion: VERSION, members: host.members, certificates: releaseDir(NEW), dataDir: "/var/lib/etcd" }));
    const running = stagedHost(3, 0, healthy(3));
    assert.equal(survey(running).stdout.trim(), "existing");
    const fresh = stagedHost(3, 0, () => [], false);
    assert.equal(survey(fresh).stdout.trim(), "new");
    const stranded = stagedHost(3, 0, () => []);
    const r = survey(stranded);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /^etcd-cluster: membership survey: this host holds etcd data in \/.*\/var\/lib\/etcd but etcd runs nowhere/);
});

test("a member that comes back answering with another version than configured is not done: no stamp, the step fails", () => {
    const host = stagedHost(3, 0, healthy(3));
    host.write("version", "3.5.16");
    const r = apply(host, 0);
    assert.notEqual(r.status, 0);
    assert.match(firstLine(r.stderr), /^etcd-cluster: member etcd-1: etcd is active but does not answer at https:\/\/127\.0\.0\.11:2379 with version 3\.5\.30/);
    assert.equal(fs.readFileSync(host.hostPath("/var/lib/etcd-cluster/applied"), "utf8").trim(), OLD, "the stamp still names the last verified configuration");
});

test("the survey makes the etcd user of a member about to join, so it can announce itself once authentication is on", () => {
    const host = stagedHost(5, 0, healthy(3));
    const r = host.run(renderSurveyScript({ etcdVersion: VERSION, members: host.members, certificates: releaseDir(NEW), dataDir: "/var/lib/etcd" }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "existing");
    assert.deepEqual(host.log().filter((l) => /^etcdctl user (add|grant-role)/.test(l)).map((l) => l.split(" @ ")[0].trim()),
        ["etcdctl user add etcd-4 --no-password", "etcdctl user grant-role etcd-4 root", "etcdctl user add etcd-5 --no-password", "etcdctl user grant-role etcd-5 root"]);
});

function retire(host: FakeHost, self: number) {
    return host.run(renderRetireScript({
        etcdVersion: VERSION, members: host.members, member: host.members[self], certificates: "/etc/etcd/current", dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal",
    }));
}

test("a host that left the configuration and the cluster is retired: etcd stopped and disabled, data and WAL moved aside, never deleted", () => {
    const host = stagedHost(4, 3, healthy(3));
    fs.mkdirSync(host.hostPath("/var/lib/etcd-wal/wal"), { recursive: true });
    fs.writeFileSync(host.hostPath("/var/lib/etcd/member/db"), "data");
    const r = retire(host, 3);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(host.read("unit").trim(), "inactive");
    assert.ok(fs.existsSync(path.join(host.state, "disabled")), "etcd.service disabled: it must not start again at boot");
    const kept = fs.readdirSync(host.hostPath("/var/lib/etcd")).filter((f) => f.startsWith("member.removed-"));
    assert.equal(kept.length, 1);
    assert.equal(fs.readFileSync(host.hostPath(`/var/lib/etcd/${kept[0]}/db`), "utf8"), "data");
    assert.ok(!fs.existsSync(host.hostPath("/var/lib/etcd/member")), "an emptied data dir: the host can later join as a new member");
    assert.equal(fs.readdirSync(host.hostPath("/var/lib/etcd-wal")).filter((f) => f.startsWith("wal.removed-")).length, 1);
});

test("retiring changes nothing while the cluster still lists the member, or when no other member answers", () => {
    const listed = stagedHost(4, 3, healthy(4));
    assert.equal(retire(listed, 3).status, 0);
    assert.equal(listed.read("unit").trim(), "active");
    assert.ok(fs.existsSync(listed.hostPath("/var/lib/etcd/member")));

    const alone = stagedHost(4, 3, healthy(3));
    alone.write("unhealthy", alone.members.slice(0, 3).map((m) => `${m.clientUrl}\n`).join(""));
    const r = retire(alone, 3);
    assert.equal(r.status, 0, "best effort: never fails the update");
    assert.match(r.stderr, /no other member answers .* etcd and its data are left as they are/);
    assert.equal(alone.read("unit").trim(), "active");
    assert.ok(fs.existsSync(alone.hostPath("/var/lib/etcd/member")));
});
