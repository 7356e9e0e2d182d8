// The lab runtime's engine decisions as pure functions (test/lab/runtime-engine.ts); test/lab-runtime.test.ts runs
// the same behaviour with real commands.

import { test } from "node:test";
import * as assert from "node:assert/strict";
import { applyIgnoreChanges, deletionWaves, planChange } from "./lab/runtime-engine";
import { ObservedOptions } from "./lab/runtime-options";
import { StoredResource } from "./lab/runtime-state";

const options = (extra: Partial<ObservedOptions> = {}): ObservedOptions => ({
    urn: "urn:a", parent: "", dependencies: [], deleteBeforeReplace: false, replaceOnChanges: ["triggers[*]"],
    ignoreChanges: [], protect: false, retainOnDelete: false, ...extra,
});
const stored = (urn: string, extra: Partial<StoredResource> = {}): StoredResource => ({
    urn, type: "command:remote:Command", name: urn, id: "1", inputs: { create: "a", triggers: ["x"] }, outputs: {},
    dependencies: [], parent: "", protect: false, retainOnDelete: false, ...extra,
});
const never = () => false;

test("plan: create when new, nothing when equal (whatever the key order), update or replace when changed", () => {
    assert.equal(planChange(undefined, { create: "a" }, options(), never).change, "create");
    assert.equal(planChange(stored("urn:a"), { triggers: ["x"], create: "a" }, options(), never).change, "same");
    assert.deepEqual(planChange(stored("urn:a"), { create: "b", triggers: ["x"] }, options(), never), { change: "update", changed: ["create"] });
    assert.equal(planChange(stored("urn:a"), { create: "a", triggers: ["y"] }, options(), never).change, "replace", "replaceOnChanges");
    assert.equal(planChange(stored("urn:a"), { create: "b", triggers: ["x"] }, options(), () => true).change, "replace", "the provider");
    assert.equal(
        planChange(stored("urn:a"), { create: "a", triggers: ["x"] }, options({ replacementTrigger: "2" }), never).change,
        "replace",
        "replacementTrigger",
    );
});

test("ignoreChanges keeps the stored value of a top-level input and refuses nested paths", () => {
    assert.deepEqual(applyIgnoreChanges({ create: "a" }, { create: "b", stdin: "s" }, ["create"]), { create: "a", stdin: "s" });
    assert.throws(() => applyIgnoreChanges({}, {}, ["connection.host"]), /top-level inputs only/);
});

test("deletes go dependents first and children before their parent", () => {
    const head = stored("head");
    const middle = stored("middle", { dependencies: ["head"] });
    const tail = stored("tail", { dependencies: ["middle"] });
    const child = stored("child", { parent: "head" });
    const waves = deletionWaves([head, middle, tail, child]).map((wave) => wave.map((r) => r.urn).sort());
    assert.deepEqual(waves, [["child", "tail"], ["middle"], ["head"]]);
});
