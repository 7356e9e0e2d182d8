import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderNospaceRecoverScript } from "../components/nospace";
import { fakeTools, FakeTools, runScript } from "./support/fake-tools";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-nospace-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ENDPOINTS = ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"];
const QUOTA = 268435456;

/**
 * A cluster as etcdctl shows it, in files: `alarms` (alarm list), `revision` per endpoint, `size` (backend bytes,
 * `size-after` once defragmented), `down` (endpoints that do not answer), `compacted` (a compaction done before).
 */
function cluster(state: { alarms: string; sizeAfter?: number; down?: string; compacted?: boolean }): FakeTools {
    const fake = fakeTools(tmp, {
        etcdctl: `eps=""; words=()
for a in "$@"; do case "$a" in --endpoints=*) eps=\${a#--endpoints=} ;; --*) ;; *) words+=("$a") ;; esac; done
case "\${words[*]}" in
  "alarm list") cat "$FAKE/alarms" ;;
  "alarm disarm") : > "$FAKE/alarms" ;;
  "endpoint status -w fields")
    for ep in \${eps//,/ }; do
      if grep -qxF "$ep" "$FAKE/down" 2>/dev/null; then echo "Error: context deadline exceeded ($ep)" >&2; exit 1; fi
      printf '"Endpoint" : "%s"\\n"Revision" : %s\\n"DBSize" : %s\\n' "$ep" "$((1000 + \${ep: -6:1}))" "$(cat "$FAKE/size-\${ep//[^0-9]/}" 2>/dev/null || echo ${QUOTA + 4096})"
    done ;;
  compaction\\ *) if [ -e "$FAKE/compacted" ]; then echo "Error: etcdserver: mvcc: required revision has been compacted" >&2; exit 1; fi; echo "compacted revision \${words[1]}" ;;
  defrag) echo "$(cat "$FAKE/size-after")" > "$FAKE/size-\${eps//[^0-9]/}"; echo "Finished defragmenting etcd member[$eps]" ;;
esac`,
    });
    fs.writeFileSync(path.join(fake.dir, "alarms"), state.alarms);
    fs.writeFileSync(path.join(fake.dir, "size-after"), String(state.sizeAfter ?? 425984));
    if (state.down) fs.writeFileSync(path.join(fake.dir, "down"), `${state.down}\n`);
    if (state.compacted) fs.writeFileSync(path.join(fake.dir, "compacted"), "");
    return fake;
}

function recover(fake: FakeTools) {
    return runScript(fake, renderNospaceRecoverScript({ etcdctl: path.join(fake.bin, "etcdctl"), endpoints: ENDPOINTS, quotaBackendBytes: QUOTA }));
}

/** The etcdctl calls that change something, as "<command> <endpoints>". */
function actions(fake: FakeTools): string[] {
    return fake.calls().map((c) => {
        const eps = /--endpoints=(\S+)/.exec(c)?.[1];
        const cmd = / (alarm disarm|compaction \d+|defrag)$/.exec(c)?.[1];
        return cmd ? `${cmd} ${eps}` : "";
    }).filter(Boolean);
}

/** As etcdctl 3.5 prints them: each line ends with a space. */
const NOSPACE = ENDPOINTS.map((_, i) => `memberID:${1000 + i} alarm:NOSPACE \n`).join("");

test("etcd-nospace-recover passes shellcheck", () => {
    const file = path.join(tmp, "recover.sh");
    fs.writeFileSync(file, renderNospaceRecoverScript({ etcdctl: "/opt/etcd/v3.5.30/etcdctl", endpoints: ENDPOINTS, quotaBackendBytes: QUOTA }));
    const r = spawnSync("shellcheck", ["--severity=style", file], { encoding: "utf8" });
    if (r.error) throw new Error(`shellcheck is required for this test (see .ci/setup): ${r.error.message}`);
    assert.equal(r.status, 0, r.stdout);
});

test("NOSPACE is cleared by compacting to the newest revision, defragmenting one member after another, then disarming", () => {
    const fake = cluster({ alarms: NOSPACE });
    const r = recover(fake);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(actions(fake), [
        `compaction 1003 ${ENDPOINTS.join(",")}`,
        ...ENDPOINTS.map((ep) => `defrag ${ep}`),
        `alarm disarm ${ENDPOINTS.join(",")}`,
    ]);
    assert.match(r.stdout, /NOSPACE cleared: writes are accepted again/);

    const again = recover(fake);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /no alarm is raised; nothing to do/);
    assert.equal(actions(fake).length, 5, "a second run changes nothing");

    const compactedBefore = cluster({ alarms: NOSPACE, compacted: true });
    assert.equal(recover(compactedBefore).status, 0, "a history compacted by an earlier, interrupted run is no error");
    assert.equal(actions(compactedBefore).filter((a) => a.startsWith("alarm disarm")).length, 1);
});

test("nothing is disarmed when another alarm is raised, a member does not answer, or the live data fills the quota", () => {
    const corrupt = cluster({ alarms: `${NOSPACE}memberID:1001 alarm:CORRUPT \n` });
    const c = recover(corrupt);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /alarms other than NOSPACE are raised \(memberID:1001 alarm:CORRUPT +\): not disarming anything/);
    assert.deepEqual(actions(corrupt), []);

    const down = cluster({ alarms: NOSPACE, down: ENDPOINTS[1] });
    const d = recover(down);
    assert.equal(d.status, 1);
    assert.match(d.stderr, /member https:\/\/10\.0\.0\.2:2379 does not answer .*Bring it back first/);
    assert.deepEqual(actions(down), []);

    const full = cluster({ alarms: NOSPACE, sizeAfter: QUOTA });
    const f = recover(full);
    assert.equal(f.status, 1);
    assert.match(f.stderr, /https:\/\/10\.0\.0\.1:2379's backend is still 268435456 bytes after defragmenting, at its quota .*Delete keys or raise etcd-cluster:quotaBackendBytes/);
    assert.deepEqual(actions(full).filter((a) => a.startsWith("alarm disarm")), []);
});
