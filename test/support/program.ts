import { execFileSync } from "child_process";
import * as assert from "node:assert/strict";
import * as path from "path";
import { RawConfig, validateConfig } from "../../components/config";

/** `started` and `finished` are ticks of one counter: registration began / the mock returned. */
export interface Recorded { type: string; name: string; inputs: Record<string, unknown>; secretInputs: string[]; started: number; finished: number }
export interface ProgramRun {
    error?: string;
    resources: Recorded[];
    outputs: Record<string, { value: unknown; secret: boolean }>;
    /** From loading index.ts to the last resource registered (includes the mocks' simulated remote-step time). */
    evaluationMs: number;
    /** Invokes the program made; none is mocked, so any fails the run. */
    invokes: string[];
}

export const TEST_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTESTKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";

/** A well-formed ed25519 public key line, different for each `seed`. */
export function testHostKey(seed: number): string {
    const name = Buffer.from("ssh-ed25519");
    const blob = Buffer.concat([Buffer.from([0, 0, 0, name.length]), name, Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, seed)]);
    return `ssh-ed25519 ${blob.toString("base64")}`;
}

/** Config for n existing hosts, as `pulumi config` would hold it. */
export function hostsConfig(n: number, extra: Record<string, unknown> = {}): Record<string, string> {
    const hosts = Array.from({ length: n }, (_, i) => ({ name: `etcd-${i + 1}`, address: `192.0.2.${11 + i}`, hostKey: testHostKey(i + 1) }));
    const config: Record<string, unknown> = { target: "hosts", nodeCount: n, hosts, sshPrivateKey: TEST_KEY, ...extra };
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** Runs index.ts (or another program) under recording mocks in a child process (a program loads once per process). */
export function runProgram(config: Record<string, string>, program?: string): ProgramRun {
    const out = execFileSync(process.execPath, ["--import", "tsx", path.join(__dirname, "recordProgram.ts"), JSON.stringify(config), ...(program ? [program] : [])], {
        encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(out) as ProgramRun;
}

export function byType(run: ProgramRun, type: string): Recorded[] {
    return run.resources.filter((r) => r.type === type);
}

export function named(run: ProgramRun, name: string): Recorded {
    const r = run.resources.find((x) => x.name === name);
    if (!r) throw new Error(`no resource named ${name}; have: ${run.resources.map((x) => x.name).join(", ")}`);
    return r;
}

export const AWS_SUBNETS = [
    { id: "subnet-0aaaaaaaaaaaaaaa1", zone: "eu-west-1a" },
    { id: "subnet-0bbbbbbbbbbbbbbb2", zone: "eu-west-1b" },
    { id: "subnet-0ccccccccccccccc3", zone: "eu-west-1c" },
];

/** The `aws` target's settings of a small valid stack, with `aws` overriding its fields. */
export function awsSettings(aws: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        region: "eu-west-1", vpcId: "vpc-0123456789abcdef0", subnets: AWS_SUBNETS, ami: "ami-0123456789abcdef0", user: "admin",
        clientCidrs: ["10.20.0.0/16"], adminCidrs: ["10.99.0.0/24"], ...aws,
    };
}

/** Config for an AWS stack of n members, as `pulumi config` would hold it. */
export function awsConfig(n: number, aws: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, string> {
    const config: Record<string, unknown> = { target: "aws", nodeCount: n, aws: awsSettings(aws), ...extra };
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

export const GCP_ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"];
export const GCP_IMAGE = "projects/ubuntu-os-cloud/global/images/ubuntu-2404-noble-amd64-v20251001";

/** The `gcp` target's settings of a small valid stack, with `gcp` overriding its fields. */
export function gcpSettings(gcp: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        project: "etcd-test-123456", region: "europe-west1", network: "prod-vpc", subnetwork: "prod-europe-west1",
        zones: GCP_ZONES, image: GCP_IMAGE, clientCidrs: ["10.20.0.0/16"], adminCidrs: ["10.99.0.0/24"], ...gcp,
    };
}

/** Config for a GCP stack of n members, as `pulumi config` would hold it. */
export function gcpConfig(n: number, gcp: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, string> {
    const config: Record<string, unknown> = { target: "gcp", nodeCount: n, gcp: gcpSettings(gcp), ...extra };
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** Asserts that validation refused the stack with exactly one error about `key`, showing `value` and what is allowed. */
export function assertOneError(result: { errors: string[]; target?: unknown }, key: string, value: string, allowed: RegExp): void {
    assert.equal(result.target, undefined, "bad input must not produce a target");
    const mine = result.errors.filter((e) => e.startsWith(`etcd-cluster:${key}:`));
    assert.equal(mine.length, 1, `expected one error for ${key}, got: ${result.errors.join(" | ")}`);
    assert.ok(mine[0].includes(value), `error should show ${value}: ${mine[0]}`);
    assert.match(mine[0], allowed);
}

/** `validate` and `errorFor` for one cloud target's section of the stack config (settings filled in as gcpConfig/awsConfig do). */
export function cloudValidation(target: "aws" | "gcp") {
    const settings = target === "aws" ? awsSettings : gcpSettings;
    const validate = (section: Record<string, unknown>, extra: RawConfig = {}, sshKeySet = false) =>
        validateConfig({ target, [target]: settings(section), ...extra }, { sshKeySet });
    const errorFor = (section: Record<string, unknown>, key: string, value: string, allowed: RegExp, extra: RawConfig = {}) =>
        assertOneError(validate(section, extra), key, value, allowed);
    return { validate, errorFor };
}
