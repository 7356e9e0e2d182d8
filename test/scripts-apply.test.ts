import { test } from "node:test";
import * as assert from "node:assert/strict";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderApplyScript, RESTART_FILES } from "../components/scripts/apply";
import { APPLIED_STAMP } from "../components/layout";
import { fakeTools, runScript, FakeTools } from "./support/fake-tools";

// The apply step's restart decision, run against stand-in etcdctl and systemctl: the files it hashes, its stamp and
// etcd's binary live under a temporary root instead of /, and the waits are cut to one second.
const ENDPOINTS = ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "apply-"));

const ETCDCTL = `case "$*" in
  *"endpoint health"*) if [ -e "$FAKE/unhealthy" ]; then echo "https://10.0.0.2:2379 is unhealthy"; exit 1; fi; echo "is healthy" ;;
  *"endpoint status"*) for _ in 1 2 3; do printf '"Leader" : 1\\n"RaftTerm" : 2\\n'; done ;;
  *"member list"*) for n in 1 2 3; do echo "$n, started, etcd-$n, https://10.0.0.$n:2380, https://10.0.0.$n:2379, false"; done ;;
  *"alarm list"*) ;;
esac`;
const SYSTEMCTL = `if [ "$1" = is-active ]; then cat "$FAKE/state"; [ "$(cat "$FAKE/state")" = active ]; fi`;

function member(opts: { state: string; healthy: boolean; stamped: boolean }): { fake: FakeTools; run: () => ReturnType<typeof runScript>; stamp: () => string } {
    const fake = fakeTools(tmp, { etcdctl: ETCDCTL, systemctl: SYSTEMCTL });
    const root = path.join(fake.dir, "root");
    for (const f of RESTART_FILES) {
        fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
        fs.writeFileSync(path.join(root, f), `content of ${f}\n`);
    }
    fs.mkdirSync(path.join(root, "var/lib/etcd/member"), { recursive: true });
    fs.mkdirSync(path.join(root, path.dirname(APPLIED_STAMP)), { recursive: true });
    fs.writeFileSync(path.join(fake.dir, "state"), `${opts.state}\n`);
    if (!opts.healthy) fs.writeFileSync(path.join(fake.dir, "unhealthy"), "");
    let script = renderApplyScript({ etcdVersion: "3.5.30", endpoints: ENDPOINTS, memberName: "etcd-2", clientUrl: ENDPOINTS[1], dataDir: "/var/lib/etcd", configurationDigest: "abc", timeoutSeconds: 1 })
        .replace(/wait_for \d+ /g, "wait_for 1 ")
        .replace(/etcdctl='[^']*'/, "etcdctl=etcdctl");
    for (const p of [...RESTART_FILES, APPLIED_STAMP, "/var/lib/etcd/member"]) script = script.split(p).join(path.join(root, p));
    const stampFile = path.join(root, APPLIED_STAMP);
    const stamp = () => fs.existsSync(stampFile) ? fs.readFileSync(stampFile, "utf8").trim() : "";
    if (opts.stamped) {
        // What the script computes: the hash of the restart files as they are now.
        const hash = createHash("sha256").update(Buffer.concat(RESTART_FILES.map((f) => fs.readFileSync(path.join(root, f))))).digest("hex");
        fs.writeFileSync(stampFile, `${hash}\n`);
    }
    return { fake, run: () => runScript(fake, script), stamp };
}

const restarts = (fake: FakeTools) => fake.calls().filter((c) => /^systemctl restart/.test(c));

test("apply: an active member whose files match its stamp is left alone", () => {
    const m = member({ state: "active", healthy: true, stamped: true });
    const r = m.run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /nothing to do/);
    assert.deepEqual(restarts(m.fake), []);
});

test("apply: a changed configuration restarts an active member only when the cluster is healthy, then stamps it", () => {
    const refused = member({ state: "active", healthy: false, stamped: false });
    const r = refused.run();
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /refusing to restart etcd-2: the cluster is not healthy/);
    assert.deepEqual(restarts(refused.fake), [], "no restart while the cluster is unhealthy");
    assert.equal(refused.stamp(), "", "no stamp for a change that was not applied");

    const healthy = member({ state: "active", healthy: true, stamped: false });
    const ok = healthy.run();
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(restarts(healthy.fake), ["systemctl restart etcd.service"]);
    assert.match(healthy.stamp(), /^[0-9a-f]{64}$/);
});
