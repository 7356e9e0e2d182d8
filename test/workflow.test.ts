import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

interface Job { if?: string; environment?: string | { name: string }; steps?: unknown[] }
const workflow = yaml.load(fs.readFileSync(path.join(__dirname, "..", ".github", "workflows", "pulumi.yml"), "utf8")) as {
    on: Record<string, unknown>; jobs: Record<string, Job>;
};
const environmentOf = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);

test("pull request code never sees a secret without a reviewer's approval", () => {
    assert.ok(!("pull_request_target" in workflow.on), "pull_request_target would run with the base repository's secrets");
    for (const [name, job] of Object.entries(workflow.jobs)) {
        if (JSON.stringify(job).includes("secrets.")) {
            assert.ok(environmentOf(job), `job ${name} reads a secret outside an environment (a repository secret is readable by every job)`);
        }
    }
    assert.equal(environmentOf(workflow.jobs.preview), "preview", "the preview job waits for the preview environment's required reviewers");
    assert.match(workflow.jobs.preview.if ?? "", /pull_request/);
});

test("deployments run from main only, on push and on a weekly schedule that renews certificates", () => {
    assert.equal(environmentOf(workflow.jobs.up), "production");
    assert.doesNotMatch(workflow.jobs.up.if ?? "", /pull_request/);
    assert.deepEqual((workflow.on.push as { branches: string[] }).branches, ["main"]);
    assert.ok(Array.isArray(workflow.on.schedule), "a scheduled run re-issues certificates once their renewal date has passed");
});
