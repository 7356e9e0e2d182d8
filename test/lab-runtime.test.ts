// The lab runtime runs a small program (test/fixtures/lab-runtime-program.ts) through run-program.ts: real
// certificates that openssl accepts, byte-identical on a re-run, regenerated only where an input changed, and a
// failing remote command that fails the run with its resource's name. Then the engine's behaviour between runs, with
// real commands: they run on the host "local.test", which this test's `ssh` (first on PATH) runs here, in a shell.

import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const runProgram = path.join(__dirname, "lab", "run-program.ts");
const program = path.join(__dirname, "fixtures", "lab-runtime-program.ts");

interface Run {
    status: number | null;
    stderr: string;
    outputs?: Record<string, string>;
}

const realSsh = spawnSync("sh", ["-c", "command -v ssh"], { encoding: "utf8" }).stdout.trim();

// Runs the command for "local.test" here as the remote login shell would (stdin passed on); any other host goes to
// the real ssh.
function fakeSsh(dir: string): string {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
        path.join(bin, "ssh"),
        `#!/bin/sh\nhost=; cmd=\nfor a; do host=$cmd; cmd=$a; done\n` +
            `if [ "$host" = local.test ]; then exec sh -c "$cmd"; fi\nexec ${realSsh} "$@"\n`,
        { mode: 0o755 },
    );
    return bin;
}

function run(dir: string, config: Record<string, unknown>): Run {
    const request = {
        program,
        project: "etcd-cluster",
        stack: "lab",
        config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`etcd-cluster:${k}`, JSON.stringify(v)])),
        secretKeys: [],
        state: path.join(dir, "lab", "state.json"),
        outputs: path.join(dir, "outputs.json"),
    };
    fs.writeFileSync(path.join(dir, "request.json"), JSON.stringify(request));
    const child = spawnSync(process.execPath, ["--import", "tsx", runProgram, path.join(dir, "request.json")], {
        encoding: "utf8",
        timeout: 120_000, // a loaded 2-core machine takes 15 s and more per run
        env: { ...process.env, PATH: `${fakeSsh(dir)}:${process.env.PATH}` },
    });
    const outputs = fs.existsSync(request.outputs) ? JSON.parse(fs.readFileSync(request.outputs, "utf8")) : undefined;
    return { status: child.status, stderr: child.stderr, outputs };
}

function openssl(dir: string, args: string[], files: Record<string, string>): string {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    const child = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    assert.equal(child.status, 0, `openssl ${args.join(" ")}: ${child.stderr}`);
    return child.stdout;
}

function mode(file: string): number {
    return fs.statSync(file).mode & 0o777;
}

test("lab runtime: real certificates, reused on a re-run, regenerated where inputs change, failures fail", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-runtime-test-"));
    try {
        const first = run(dir, { leafADnsNames: ["localhost"] });
        assert.equal(first.status, 0, first.stderr);
        assert.match(first.stderr, /^\+ tls:index\/locallySignedCert:LocallySignedCert leaf-a \d+\.\ds$/m);
        const out = first.outputs!;
        assert.equal(out.secretValue, "s3cret", "secret outputs are written in plain");
        assert.equal(mode(path.join(dir, "outputs.json")), 0o600);
        assert.equal(mode(path.join(dir, "lab", "state.json")), 0o600);
        assert.equal(mode(path.join(dir, "lab")), 0o700);

        const files = { "ca.pem": out.caCertPem, "a.pem": out.leafACertPem, "b.pem": out.leafBCertPem };
        assert.equal(openssl(dir, ["verify", "-CAfile", "ca.pem", "a.pem", "b.pem"], files), "a.pem: OK\nb.pem: OK\n");
        const ca = openssl(dir, ["x509", "-in", "ca.pem", "-noout", "-text"], {});
        assert.match(ca, /Basic Constraints: critical\s+CA:TRUE/);
        assert.match(ca, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
        assert.match(ca, /Subject: O = etcd-cluster, CN = lab runtime test CA/);
        const a = openssl(dir, ["x509", "-in", "a.pem", "-noout", "-text"], {});
        assert.match(a, /Basic Constraints: critical\s+CA:FALSE/);
        assert.match(a, /Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
        assert.match(a, /Extended Key Usage: \s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
        assert.match(
            a,
            /Subject Alternative Name: \s+DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1\n/,
        );
        assert.match(a, /Authority Key Identifier: /);
        assert.doesNotMatch(a, /Subject Key Identifier/, "only CAs and setSubjectKeyId get one");
        assert.match(a, /Subject: CN = leaf-a\n/);
        const b = openssl(dir, ["x509", "-in", "b.pem", "-noout", "-text"], {});
        assert.match(b, /Extended Key Usage: \s+TLS Web Client Authentication\n/);
        assert.doesNotMatch(b, /X509v3 Key Usage/, "no key usage asked, none set");
        assert.match(b, /Public Key Algorithm: ED25519/);

        fs.writeFileSync(path.join(dir, "b.pub"), out.leafBPublicKeyOpenssh);
        const fingerprint = spawnSync("ssh-keygen", ["-l", "-E", "sha256", "-f", path.join(dir, "b.pub")], {
            encoding: "utf8",
        });
        assert.equal(fingerprint.stdout.split(" ")[1], out.leafBFingerprint, "OpenSSH agrees on the public key");

        const second = run(dir, { leafADnsNames: ["localhost"] });
        assert.equal(second.status, 0, second.stderr);
        assert.deepEqual(second.outputs, out, "a re-run with the same inputs changes nothing");
        assert.doesNotMatch(second.stderr, /^\+ /m, "nothing is generated again");

        const third = run(dir, { leafADnsNames: ["localhost", "a.example"] });
        assert.equal(third.status, 0, third.stderr);
        assert.equal(third.outputs!.caCertPem, out.caCertPem);
        assert.equal(third.outputs!.leafBCertPem, out.leafBCertPem);
        assert.notEqual(third.outputs!.leafACertPem, out.leafACertPem);
        const a2 = openssl(dir, ["x509", "-in", "a2.pem", "-noout", "-ext", "subjectAltName"], {
            "a2.pem": third.outputs!.leafACertPem,
        });
        assert.match(a2, /DNS:localhost, DNS:a\.example, IP Address:127\.0\.0\.1/);
        assert.deepEqual(
            third.stderr.split("\n").filter((line) => /^\+-? /.test(line)).map((line) => line.split(" ").slice(0, 3).join(" ")),
            [
                "+- tls:index/certRequest:CertRequest leaf-a",
                "+- tls:index/locallySignedCert:LocallySignedCert leaf-a",
            ],
            "only leaf-a's request and certificate are replaced",
        );

        const failed = run(dir, { leafADnsNames: ["localhost", "a.example"], unreachablePort: 1 });
        assert.equal(failed.status, 1, failed.stderr);
        assert.match(failed.stderr, /error: command:remote:Command unreachable\n/);
        assert.match(failed.stderr, /after 2 failed attempts: ssh: connect to host 127\.0\.0\.1 port 1: Connection refused/);
        assert.equal(failed.outputs, undefined, "a failed run writes no outputs");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

// One work directory through a sequence of runs, as `pulumi up` after `pulumi up`; each test is one step.
const work = fs.mkdtempSync(path.join(os.tmpdir(), "lab-runtime-engine-"));
const steps = {
    plain: "v1", updated: "v1", replaced: "t1", replacedFirst: "t1", chain: true, flaky: false,
    copied: "a.txt", copyPort: 22, guarded: "g1",
};
fs.writeFileSync(path.join(work, "a.txt"), "content a\n");
fs.writeFileSync(path.join(work, "b.txt"), "content b\n");
const logLines = () => (fs.existsSync(path.join(work, "log")) ? fs.readFileSync(path.join(work, "log"), "utf8").split("\n").filter(Boolean) : []);
let seen = 0;
// The commands that ran since the last call.
function ran(): string[] {
    const lines = logLines();
    const fresh = lines.slice(seen);
    seen = lines.length;
    return fresh;
}
const up = (extra: Record<string, unknown> = {}) =>
    run(work, { leafADnsNames: ["localhost"], workDir: work, steps, ...extra });
const copyTarget = () => fs.readFileSync(path.join(work, "copy-target"), "utf8");
const before = (lines: string[], first: string, second: string) => {
    assert.ok(lines.includes(first) && lines.includes(second), `${first} and ${second} both ran: ${lines.join(" | ")}`);
    assert.ok(lines.indexOf(first) < lines.indexOf(second), `${first} before ${second}: ${lines.join(" | ")}`);
};
let rotatedKey = "";

test("engine: a new resource is created", () => {
    const first = up();
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(ran().sort(), [
        "create guarded g1", "create plain v1", "create replaced t1", "create replaced-first t1", "create updated v1",
    ]);
    assert.equal(copyTarget(), "content a\n");
    rotatedKey = first.outputs!.rotatedPublicKey;
});

test("engine: unchanged inputs run nothing and keep the outputs", () => {
    fs.writeFileSync(path.join(work, "copy-target"), "changed on the host\n");
    const again = up();
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(ran(), [], "no command ran");
    assert.equal(copyTarget(), "changed on the host\n", "the file was not copied again");
    assert.doesNotMatch(again.stderr, /^(\+|~|-) /m, "every resource is unchanged");
    assert.equal(again.outputs!.rotatedPublicKey, rotatedKey);
});

test("engine: changed inputs run update, or create again where there is no update", () => {
    fs.writeFileSync(path.join(work, "allow-update"), "");
    const changed = up({ steps: { ...steps, plain: "v2", updated: "v2" } });
    assert.equal(changed.status, 0, changed.stderr);
    assert.deepEqual(ran().sort(), ["create plain v2", "update updated v2"]);
    assert.match(changed.stderr, /^~ command:remote:Command updated /m);
});

test("engine: changed triggers replace, creating first by default, deleting first with deleteBeforeReplace", () => {
    const replaced = up({ steps: { ...steps, plain: "v2", updated: "v2", replaced: "t2", replacedFirst: "t2" } });
    assert.equal(replaced.status, 0, replaced.stderr);
    const lines = ran();
    assert.equal(lines.length, 4, lines.join(" | "));
    before(lines, "create replaced t2", "delete replaced t1");
    before(lines, "delete replaced-first t1", "create replaced-first t2");
    Object.assign(steps, { plain: "v2", updated: "v2", replaced: "t2", replacedFirst: "t2" });
});

test("engine: a changed replacementTrigger makes a new key", () => {
    const rotated = up({ rotation: "1" });
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.notEqual(rotated.outputs!.rotatedPublicKey, rotatedKey);
    assert.match(rotated.stderr, /^\+- tls:index\/privateKey:PrivateKey rotated /m);
    assert.doesNotMatch(rotated.stderr, /^\+- tls:index\/privateKey:PrivateKey ca /m);
});

test("engine: CopyToRemote copies again when the file's content changes, not when the connection does", () => {
    const newContent = up({ rotation: "1", steps: { ...steps, copied: "b.txt" } });
    assert.equal(newContent.status, 0, newContent.stderr);
    assert.equal(copyTarget(), "content b\n");
    fs.writeFileSync(path.join(work, "copy-target"), "changed on the host\n");
    const newPort = up({ rotation: "1", steps: { ...steps, copied: "b.txt", copyPort: 2222 } });
    assert.equal(newPort.status, 0, newPort.stderr);
    assert.match(newPort.stderr, /^~ command:remote:CopyToRemote copied /m, "an update");
    assert.equal(copyTarget(), "changed on the host\n", "that copies nothing");
    Object.assign(steps, { copied: "b.txt", copyPort: 2222 });
});

test("engine: resources that left the program are deleted, dependents first", () => {
    const removed = up({ rotation: "1", steps: { ...steps, chain: false } });
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(ran(), ["delete tail", "delete middle", "delete head"]);
    assert.match(removed.stderr, /^- command:remote:Command head /m);
    steps.chain = false;
    const again = up({ rotation: "1" });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(ran(), [], "deleted resources are gone from the state");
});

test("engine: a failed update keeps the old state and runs again next time", () => {
    fs.rmSync(path.join(work, "allow-update"));
    const failed = up({ rotation: "1", steps: { ...steps, updated: "v3" } });
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /error: command:remote:Command updated\n/);
    assert.deepEqual(ran(), []);
    fs.writeFileSync(path.join(work, "allow-update"), "");
    const retried = up({ rotation: "1", steps: { ...steps, updated: "v3" } });
    assert.equal(retried.status, 0, retried.stderr);
    assert.deepEqual(ran(), ["update updated v3"]);
    steps.updated = "v3";
});

test("engine: a failed create is not recorded and runs again next time", () => {
    const failed = up({ rotation: "1", steps: { ...steps, flaky: true } });
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /error: command:remote:Command flaky\n/);
    fs.writeFileSync(path.join(work, "allow-flaky"), "");
    const retried = up({ rotation: "1", steps: { ...steps, flaky: true } });
    assert.equal(retried.status, 0, retried.stderr);
    assert.deepEqual(ran(), ["create flaky"]);
    steps.flaky = true;
});

test("engine: a protected resource is not replaced", () => {
    const refused = up({ rotation: "1", steps: { ...steps, guarded: "g2" } });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /unable to replace .*::guarded: it is protected/);
    assert.deepEqual(ran(), [], "neither created nor deleted");
    fs.rmSync(work, { recursive: true, force: true });
});
