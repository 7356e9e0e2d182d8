/**
 * Smoke test of `npm run bench`: one short run (program evaluation, and failover against the hand-made reference
 * cluster) produces its table and JSON and leaves no lab behind. Timings are printed, never asserted. Needs root
 * and systemd-nspawn; elsewhere it skips, saying why.
 */
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./lab/deploy";
import { labDir, LAB_NAME } from "./lab/lab-id";
import { Row } from "./bench/results";
import { labSkip, tearDownLab } from "./lab/e2e-support";

const DIR = labDir();
const skip = labSkip("bench smoke test");

after(async () => {
    if (skip) return;
    // The bench tears down on its own; this only matters if the bench itself could not.
    await tearDownLab(DIR);
});

test("one short bench run prints figures for ours and the reference, writes them as JSON, and leaves no lab running", { skip }, () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO, "test", "bench", "cli.ts"), "--runs", "1", "--only", "eval,failover"], {
        // A guard against a hung bench, not a timing: on a quiet 2-core machine the run takes a minute or two.
        cwd: REPO, encoding: "utf8", timeout: 25 * 60_000,
    });
    console.log(r.stdout);
    assert.equal(r.status, 0, `bench failed:\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /^\| write unavailability after SIGKILL of the leader .*\| ms \| \d+ \| \d+ \| \d+\.\d\d \|$/m, "ours, reference and their ratio");
    assert.match(r.stdout, /^\| program evaluation under mocks, 7 members \| ms \| \d+ \|/m);
    const json = /^figures as JSON: (.+)$/m.exec(r.stdout)?.[1];
    assert.ok(json && fs.existsSync(json), "the JSON file named in the output exists");
    const rows = (JSON.parse(fs.readFileSync(json, "utf8")) as { rows: Row[] }).rows;
    const failover = rows.filter((row) => row.name.startsWith("write unavailability"));
    assert.equal(failover.length, 2, "SIGKILL and graceful stop");
    for (const row of failover) {
        for (const v of [...row.ours, ...row.reference]) assert.ok(Number.isFinite(v) && v > 0, `${row.name}: ${v}`);
    }
    const left = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.split(" ")[0] === LAB_NAME || l.startsWith(`${LAB_NAME}-`));
    assert.deepEqual(left, [], "no lab namespace left");
});
