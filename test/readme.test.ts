import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const shellBlocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].split("\n"));

test("every README command that writes a private key to a file does it under umask 077, so the key is never readable by others", () => {
    const writesKey = (line: string) => /(PrivateKey|privateKey)\b/.test(line) && />\s*\S+/.test(line);
    const keyLines = shellBlocks.flatMap((lines) => lines.map((line, i) => ({ line, before: lines.slice(0, i) })).filter(({ line }) => writesKey(line)));
    assert.ok(keyLines.length >= 2, "the admin key and a client key are written in the README");
    for (const { line, before } of keyLines) {
        const guarded = /^\(umask 077; /.test(line) || before.some((l) => /^umask 077\b/.test(l));
        assert.ok(guarded, `not under umask 077: ${line}`);
    }
});
