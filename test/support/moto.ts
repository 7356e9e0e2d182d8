// moto, a local S3 stand-in (on the machine image; Debian: python3-moto), for the tests that talk S3 for real.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";

/** Why the S3 stand-in tests cannot run here, or false. */
export const motoSkip: string | false = spawnSync("moto_server", ["--help"]).status === 0 ? false : "needs moto_server (Python package moto), a local S3 stand-in";

/** Runs `body` against a moto server on a loopback port of its own (`portBase` + pid), stopped afterwards. */
export async function withMoto(portBase: number, body: (base: string) => Promise<void> | void): Promise<void> {
    const port = portBase + (process.pid % 1000);
    const server = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    try {
        const base = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + 90_000; // moto imports every service it emulates: slow to start on a busy machine
        while (spawnSync("curl", ["-fsS", "-o", "/dev/null", `${base}/moto-api/`]).status !== 0) {
            assert.ok(Date.now() < deadline, "moto_server did not come up");
            await new Promise((r) => setTimeout(r, 300));
        }
        await body(base);
    } finally {
        server.kill();
    }
}
