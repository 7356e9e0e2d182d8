import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";

const dir = path.join(__dirname, "..", "components", "monitoring");

function promtool(args: string[]): { status: number | null; out: string } {
    const r = spawnSync("promtool", args, { encoding: "utf8", cwd: dir });
    if (r.error) throw new Error(`promtool is required for this test (Debian package prometheus, see .ci/setup): ${r.error.message}`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test("the shipped alert rules are valid Prometheus rules", () => {
    const r = promtool(["check", "rules", "etcd-alerts.yaml"]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS: 11 rules found/);
});

test("the alerts fire for a sick member and stay silent for a healthy one", () => {
    const r = promtool(["test", "rules", "etcd-alerts.test.yaml"]);
    assert.equal(r.status, 0, r.out);
});

test("the README's example agent configuration is one Prometheus accepts in agent mode", () => {
    const r = promtool(["check", "config", "--agent", "prometheus-agent.example.yaml"]);
    assert.equal(r.status, 0, r.out);
});
