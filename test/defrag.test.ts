import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderDefragScript, renderDefragService, renderDefragTimer } from "../components/defrag";
import { binary } from "../components/layout";
import { planMember } from "../components/plan";

const members = [1, 2, 3].map((i) => planMember(`etcd-${i}`, `10.0.0.${i}`));
const options = { etcdVersion: "3.6.14", ownEndpoint: members[1].clientUrl, endpoints: members.map((m) => m.clientUrl) };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-defrag-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", env });
    if (r.error) throw new Error(`${cmd} is required for this test (see .ci/setup): ${r.error.message}`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Runs the script against a stand-in etcdctl that logs its arguments; `healthy` decides `endpoint health`. */
function runScript(healthy: boolean): { status: number | null; out: string; calls: string[] } {
    const log = path.join(tmp, `calls-${healthy}`);
    const fake = path.join(tmp, "etcdctl");
    fs.writeFileSync(fake, `#!/bin/bash\necho "$*" >> ${log}\ncase "$*" in *"endpoint health"*) [ "$HEALTHY" = yes ];; esac\n`, { mode: 0o755 });
    const script = path.join(tmp, "defrag.sh");
    fs.writeFileSync(script, renderDefragScript(options).replace(binary("3.6.14", "etcdctl"), fake), { mode: 0o755 });
    const r = run(script, [], { ...process.env, HEALTHY: healthy ? "yes" : "no" });
    return { ...r, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
}

test("the defragmentation script passes shellcheck, and its service and timer pass systemd-analyze verify", () => {
    const script = path.join(tmp, "check.sh");
    fs.writeFileSync(script, renderDefragScript(options));
    const sc = run("shellcheck", ["--severity=style", script]);
    assert.equal(sc.status, 0, sc.out);
    // systemd-analyze wants ExecStart to exist: verify a copy pointing at a stand-in executable.
    const exe = path.join(tmp, "defrag-exe");
    fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(tmp, "etcd-defrag.service"), renderDefragService("etcd-2").replace(/^ExecStart=.*$/m, `ExecStart=${exe}`));
    fs.writeFileSync(path.join(tmp, "etcd-defrag.timer"), renderDefragTimer("etcd-2", 1));
    // The service requires etcd.service: a minimal one stands in (test/rendering.test.ts verifies the real one).
    fs.writeFileSync(path.join(tmp, "etcd.service"), `[Service]\nExecStart=${exe}\n`);
    const verify = run("systemd-analyze", ["verify", ...["etcd.service", "etcd-defrag.service", "etcd-defrag.timer"].map((f) => path.join(tmp, f))]);
    assert.equal(verify.status, 0, verify.out);
    assert.equal(verify.out.trim(), "", `systemd-analyze verify complained:\n${verify.out}`);
});

test("a member defragments only itself, and only when every member is healthy", () => {
    const healthy = runScript(true);
    assert.equal(healthy.status, 0, healthy.out);
    const defrags = healthy.calls.filter((c) => c.includes("defrag"));
    assert.equal(defrags.length, 1, healthy.calls.join("\n"));
    assert.match(defrags[0], new RegExp(`--endpoints=${members[1].clientUrl} `));
    assert.ok(healthy.calls[0].includes(`--endpoints=${options.endpoints.join(",")} endpoint health`), "health of the whole cluster is checked first");

    const sick = runScript(false);
    assert.equal(sick.status, 0, sick.out);
    assert.match(sick.out, /cluster is not healthy: defragmentation skipped/);
    assert.deepEqual(sick.calls.filter((c) => c.includes("defrag")), []);
});

test("members' timers fire at different hours, so no two members defragment at once", () => {
    const times = [0, 1, 2, 3, 4, 5, 6].map((i) => renderDefragTimer(`etcd-${i + 1}`, i).match(/^OnCalendar=(.*)$/m)![1]);
    assert.equal(new Set(times).size, times.length, times.join(", "));
});
