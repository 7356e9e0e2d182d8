// The bench's command line and how it summarises runs (the figures themselves are never asserted).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseOptions } from "./bench/options";
import { Results, table } from "./bench/results";

test("bench options: defaults, subsets, and bad values refused with what is allowed", () => {
    const d = parseOptions([]);
    assert.equal(d.runs, 3);
    assert.deepEqual([...d.only], ["eval", "deploy", "redeploy", "rolling", "failover", "perf"]);
    const o = parseOptions(["--runs", "1", "--only", "deploy,failover", "--nodes", "3", "--loads", "s"]);
    assert.deepEqual({ runs: o.runs, only: [...o.only], nodes: o.nodes, loads: o.loads }, { runs: 1, only: ["deploy", "failover"], nodes: [3], loads: ["s"] });
    assert.throws(() => parseOptions(["--runs", "0"]), /--runs 0: expected a whole number of at least 1/);
    assert.throws(() => parseOptions(["--only", "deploy,fast"]), /--only deploy,fast: expected a comma-separated list of eval, deploy, redeploy, rolling, failover, perf/);
    assert.throws(() => parseOptions(["--nodes", "4"]), /--nodes 4: .* 3, 5, 7/);
    assert.throws(() => parseOptions(["--verbose"]), /unknown argument --verbose/);
});

test("bench table: min / median / max per side, the ratio of medians, and pass counts", () => {
    const r = new Results();
    for (const v of [1200, 1000, 1600, 1400]) r.add("unavailability", "ms", "ours", v);
    for (const v of [2000, 2600, 2400]) r.add("unavailability", "ms", "reference", v);
    r.add("check perf", "pass", "ours", 1);
    r.add("check perf", "pass", "ours", 0);
    assert.equal(table(r.rows).split("\n").slice(2).join("\n"), [
        "| unavailability | ms | 1000 / 1300 / 1600 | 2000 / 2400 / 2600 | 0.54 |",
        "| check perf |  | 1/2 pass |  |  |",
    ].join("\n"));
});
