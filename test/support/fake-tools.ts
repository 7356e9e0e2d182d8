import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/**
 * Stand-ins for the system tools remote scripts call, put first on PATH so a script's decisions can be tested
 * without root or real devices. Each records its arguments in `calls` and keeps state in files beside it.
 */
export interface FakeTools { dir: string; bin: string; calls(): string[] }

export function fakeTools(root: string, tools: Record<string, string>): FakeTools {
    const dir = fs.mkdtempSync(path.join(root, "fake-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(tools)) {
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "$FAKE/calls"\n${body}\n`, { mode: 0o755 });
    }
    return {
        dir, bin,
        calls: () => fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trimEnd().split("\n") : [],
    };
}

export function runScript(fake: FakeTools, script: string): { status: number; stdout: string; stderr: string } {
    const file = path.join(fake.dir, "script.bash");
    fs.writeFileSync(file, script);
    const r = spawnSync("bash", [file], { encoding: "utf8", env: { ...process.env, FAKE: fake.dir, PATH: `${fake.bin}:${process.env.PATH}` } });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
