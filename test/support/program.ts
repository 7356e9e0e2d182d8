import { execFileSync } from "child_process";
import * as path from "path";

/** `started` and `finished` are ticks of one counter: registration began / the mock returned. */
export interface Recorded { type: string; name: string; inputs: Record<string, unknown>; secretInputs: string[]; started: number; finished: number }
export interface ProgramRun {
    error?: string;
    resources: Recorded[];
    outputs: Record<string, { value: unknown; secret: boolean }>;
}

export const TEST_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTESTKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";

/** Config for n existing hosts, as `pulumi config` would hold it. */
export function hostsConfig(n: number, extra: Record<string, unknown> = {}): Record<string, string> {
    const hosts = Array.from({ length: n }, (_, i) => ({ name: `etcd-${i + 1}`, address: `192.0.2.${11 + i}` }));
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
