// The lab runtime runs a small program (test/fixtures/lab-runtime-program.ts) through run-program.ts: real
// certificates that openssl accepts, byte-identical on a re-run, regenerated only where an input changed, and a
// failing remote command that fails the run with its resource's name.

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
        timeout: 15_000,
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
            third.stderr.split("\n").filter((line) => line.startsWith("+ ")).map((line) => line.split(" ")[2]),
            ["leaf-a", "leaf-a"],
            "only leaf-a's request and certificate are made again",
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
