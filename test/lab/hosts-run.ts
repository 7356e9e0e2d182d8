// Runs a command from an argument array (no shell) and returns its output.
import { execFile } from "node:child_process";

export interface RunResult { code: number; stdout: string; stderr: string; }

// Never throws: callers that probe (is it up? does it exist?) look at the exit code.
export function tryRun(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        execFile(cmd, args, { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
            resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        });
    });
}

// Throws with the command line and its stderr, so a failing step says what failed and why.
export async function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await tryRun(cmd, args, opts);
    if (r.code !== 0) {
        const out = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-20).join("\n");
        throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}):\n${out}`);
    }
    return r.stdout;
}
