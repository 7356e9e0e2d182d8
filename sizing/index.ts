import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export const SIZES = ["small", "medium", "large", "xlarge"] as const;
export type Size = (typeof SIZES)[number];

export interface Tier {
    load: { clients: string; requestsPerSecond: string; data: string };
    aws: { instanceType: string; vcpus: number; memoryGiB: number; provisionedIops: number; throughputMBps: number };
    gcp: { machineType: string; vcpus: number; memoryGiB: number; diskGB: number; iops: number; throughputMBps: number };
    etcd: { quotaBackendBytes: number; gomaxprocs: number };
}

export const TIERS_FILE = path.join(__dirname, "tiers.yaml");
const MAX_QUOTA_BYTES = 8 * 1024 ** 3;

const SHAPE: { [K in keyof Tier]: Record<keyof Tier[K], "string" | "number"> } = {
    load: { clients: "string", requestsPerSecond: "string", data: "string" },
    aws: { instanceType: "string", vcpus: "number", memoryGiB: "number", provisionedIops: "number", throughputMBps: "number" },
    gcp: { machineType: "string", vcpus: "number", memoryGiB: "number", diskGB: "number", iops: "number", throughputMBps: "number" },
    etcd: { quotaBackendBytes: "number", gomaxprocs: "number" },
};

/** Parses and checks a tiers document; throws one error listing every problem. */
export function parseTiers(text: string, source = TIERS_FILE): Record<Size, Tier> {
    const doc = yaml.load(text) as unknown;
    const problems: string[] = [];
    if (typeof doc !== "object" || doc === null) throw new Error(`${source}: expected a mapping of tiers`);
    const tiers = doc as Record<string, Record<string, Record<string, unknown>>>;
    for (const key of Object.keys(tiers)) {
        if (!(SIZES as readonly string[]).includes(key)) problems.push(`unknown tier "${key}" (allowed: ${SIZES.join(", ")})`);
    }
    for (const size of SIZES) {
        const tier = tiers[size];
        if (typeof tier !== "object" || tier === null) { problems.push(`tier "${size}" is missing`); continue; }
        for (const [section, fields] of Object.entries(SHAPE)) {
            const got = tier[section];
            if (typeof got !== "object" || got === null) { problems.push(`${size}.${section} is missing`); continue; }
            for (const [field, kind] of Object.entries(fields)) {
                const value = got[field];
                if (kind === "number" ? !(typeof value === "number" && value > 0) : typeof value !== "string" || value === "") {
                    problems.push(`${size}.${section}.${field} must be a ${kind === "number" ? "positive number" : "non-empty string"}, got ${JSON.stringify(value)}`);
                }
            }
        }
        const quota = tier.etcd?.quotaBackendBytes;
        if (typeof quota === "number" && quota > MAX_QUOTA_BYTES) problems.push(`${size}.etcd.quotaBackendBytes ${quota} is above etcd's 8 GiB maximum`);
    }
    if (problems.length) throw new Error(`${source} is invalid:\n  - ${problems.join("\n  - ")}`);
    return tiers as unknown as Record<Size, Tier>;
}

export function loadTiers(file = TIERS_FILE): Record<Size, Tier> {
    return parseTiers(fs.readFileSync(file, "utf8"), file);
}
