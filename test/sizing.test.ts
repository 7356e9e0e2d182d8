import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import { TIERS_FILE, loadTiers, parseTiers } from "../sizing";

test("the tiers equal etcd's hardware guide", () => {
    const t = loadTiers();
    const row = (s: keyof typeof t) => [t[s].aws.instanceType, t[s].aws.vcpus, t[s].aws.memoryGiB, t[s].aws.provisionedIops, t[s].aws.throughputMBps,
        t[s].gcp.machineType, t[s].gcp.diskGB, t[s].gcp.iops, t[s].gcp.throughputMBps, t[s].load.clients, t[s].load.requestsPerSecond, t[s].load.data];
    assert.deepEqual(row("small"), ["m4.large", 2, 8, 3600, 56.25, "n1-standard-2", 50, 1500, 25, "< 100", "< 200", "<= 100 MB"]);
    assert.deepEqual(row("medium"), ["m4.xlarge", 4, 16, 6000, 93.75, "n1-standard-4", 150, 4500, 75, "< 500", "< 1000", "<= 500 MB"]);
    assert.deepEqual(row("large"), ["m4.2xlarge", 8, 32, 8000, 125, "n1-standard-8", 250, 7500, 125, "< 1500", "< 10000", "<= 1 GB"]);
    assert.deepEqual(row("xlarge"), ["m4.4xlarge", 16, 64, 16000, 250, "n1-standard-16", 500, 15000, 250, "> 1500", "> 10000", "> 1 GB"]);
});

test("each tier implies a backend quota within etcd's 8 GiB limit and GOMAXPROCS equal to its vCPUs", () => {
    const t = loadTiers();
    assert.deepEqual(Object.values(t).map((x) => x.etcd.quotaBackendBytes / 1024 ** 3), [2, 4, 8, 8]);
    for (const tier of Object.values(t)) assert.equal(tier.etcd.gomaxprocs, tier.aws.vcpus);
});

test("a broken tiers file is refused on load with every problem named", () => {
    const text = fs.readFileSync(TIERS_FILE, "utf8")
        .replace("provisionedIops: 3600", "provisionedIops: lots")
        .replace("quotaBackendBytes: 4294967296", "quotaBackendBytes: 17179869184")
        .replace(/^xlarge:/m, "xxl:");
    assert.throws(() => parseTiers(text, "tiers.yaml"), (e: Error) =>
        /small\.aws\.provisionedIops must be a positive number, got "lots"/.test(e.message) &&
        /medium\.etcd\.quotaBackendBytes 17179869184 is above etcd's 8 GiB maximum/.test(e.message) &&
        /unknown tier "xxl"/.test(e.message) && /tier "xlarge" is missing/.test(e.message));
});
