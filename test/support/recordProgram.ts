/**
 * Runs index.ts under the Pulumi SDK's mocks and prints, as JSON, every resource it registered (type, name, inputs
 * with secrets marked) and every stack output (value and whether it is secret). Child process of program.ts:
 * the program can be loaded only once per process.
 * Usage: node --import tsx test/support/recordProgram.ts '<config json>' [program.ts, default index.ts]
 */
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** What a mocked resolve step prints after `snapshot `: test/restore.test.ts expects it. */
const RESOLVED_SNAPSHOT = `dev/etcd-cluster-dev-0123456789abcdef/hourly/20261123T180000Z-rev42.db ${"5".repeat(64)}`;

interface Recorded { type: string; name: string; inputs: unknown; secretInputs: string[]; started: number; finished: number }
const resources: Recorded[] = [];
const pending: Promise<unknown>[] = [];
const invokes: string[] = [];
let clock = 0;
/** Remote steps take a little time, as they do for real, so ordering between them is observable. */
const STEP_MS = 20;

/** Replaces secret wrappers by their values and lists the paths that were secret; resolves asset promises. */
async function unwrap(value: unknown, at: string, secrets: string[]): Promise<unknown> {
    const v = await value;
    if (Array.isArray(v)) return Promise.all(v.map((x, i) => unwrap(x, `${at}[${i}]`, secrets)));
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SECRET_SIG] !== undefined && "value" in o) { secrets.push(at || "."); return unwrap(o.value, at, secrets); }
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) out[k] = await unwrap(x, at ? `${at}.${k}` : k, secrets);
        return out;
    }
    return v;
}

function fakeState(type: string, name: string): Record<string, unknown> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return {
                privateKeyPem: `-----BEGIN PRIVATE KEY-----\nFAKE KEY ${name}\n-----END PRIVATE KEY-----\n`, publicKeyFingerprintSha256: `SHA256:fp${name}`,
                privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE KEY ${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
                publicKeyOpenssh: `ssh-ed25519 FAKEPUBLIC${name.replace(/[^A-Za-z0-9]/g, "")}\n`,
            };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: `-----BEGIN CERTIFICATE-----\nFAKE CERT ${name}\n-----END CERTIFICATE-----\n`, validityEndTime: "2027-11-23T18:00:00Z" };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n-----END CERTIFICATE REQUEST-----\n` };
        // A restore's resolve step names the snapshot it chose and the SHA-256 of the store's checksum file.
        case "command:remote:Command":
            return { stdout: name.endsWith("-restore-resolve") ? `snapshot ${RESOLVED_SNAPSHOT}\n` : `ran ${name}`, stderr: "" };
        // A cloud machine's address exists only once its interface does: 10.1.0.1N for member N.
        case "aws:ec2/networkInterface:NetworkInterface":
            return { privateIp: `10.1.0.${10 + Number(/(\d+)/.exec(name)?.[1] ?? 0)}` };
        case "aws:ec2/keyPair:KeyPair":
            return { keyName: `${name}-key` };
        case "aws:s3/bucket:Bucket":
            return { bucket: `${name}-20261123`, arn: `arn:aws:s3:::${name}-20261123` };
        case "aws:iam/instanceProfile:InstanceProfile":
            return { name: `${name}-20261123` };
        case "gcp:storage/bucket:Bucket":
            return { name: `${name}-20261123` };
        case "gcp:serviceaccount/account:Account":
            return { email: `${name}@etcd-test.iam.gserviceaccount.com` };
        // A reserved internal address on GCP: 10.2.0.1N for member N.
        case "gcp:compute/address:Address":
            return { address: `10.2.0.${10 + Number(/(\d+)/.exec(name)?.[1] ?? 0)}` };
        case "gcp:compute/disk:Disk":
            return { selfLink: `https://www.googleapis.com/compute/v1/projects/fake/zones/fake/disks/${name}` };
        case "gcp:compute/instance:Instance":
            return { instanceId: String(BigInt(`0x${createHash("sha256").update(name).digest("hex").slice(0, 15)}`)) };
        default:
            return {};
    }
}

/** Cloud resource ids shaped like the real ones where the program derives something from them. */
function fakeId(type: string, name: string): string {
    if (type === "aws:ebs/volume:Volume") return `vol-0${createHash("sha256").update(name).digest("hex").slice(0, 16)}`;
    if (type === "aws:ec2/instance:Instance") return `i-0${createHash("sha256").update(name).digest("hex").slice(0, 16)}`;
    return `${name}-id`;
}

async function main(): Promise<void> {
    const config = JSON.parse(process.argv[2]) as Record<string, string>;
    const allConfig: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) allConfig[`etcd-cluster:${k}`] = v;
    pulumi.runtime.setAllConfig(allConfig, ["etcd-cluster:sshPrivateKey"]);
    await pulumi.runtime.setMocks({
        newResource(args) {
            const work = (async () => {
                const started = ++clock;
                const secretInputs: string[] = [];
                const inputs = await unwrap(args.inputs, "", secretInputs);
                if (args.type.startsWith("command:")) await new Promise((r) => setTimeout(r, STEP_MS));
                resources.push({ type: args.type, name: args.name, inputs, secretInputs, started, finished: ++clock });
                return { id: fakeId(args.type, args.name), state: { ...args.inputs, ...fakeState(args.type, args.name) } };
            })();
            pending.push(work);
            return work;
        },
        // The program makes no invokes (data-source lookups): any invoke fails the run, so a new one cannot go unmocked.
        call: (args) => { invokes.push(args.token); throw new Error(`un-mocked invoke ${args.token}`); },
    }, "etcd-cluster", "dev", false);

    let error: string | undefined;
    const outputs: Record<string, { value: unknown; secret: boolean }> = {};
    // From loading index.ts to the last resource registered: what the program itself costs, without Node's start.
    const started = performance.now();
    try {
        const program = require(process.argv[3] ?? path.join(__dirname, "..", "..", "index.ts")) as Record<string, unknown>;
        for (const [key, value] of Object.entries(program)) {
            const out: pulumi.Output<unknown> = pulumi.output(value as pulumi.Input<unknown>);
            outputs[key] = { value: await new Promise((resolve) => out.apply(resolve)), secret: await pulumi.isSecret(out) };
        }
        // Registrations still waiting for inputs have not reached the mock yet: the SDK knows when all have settled.
        await pulumi.runtime.disconnect();
        await Promise.all(pending);
    } catch (e) {
        error = e instanceof Error ? e.message : String(e);
    }
    const evaluationMs = performance.now() - started;
    if (invokes.length && !error) error = `un-mocked invokes: ${invokes.join(", ")}`;
    process.stdout.write(JSON.stringify({ error, resources, outputs, invokes, evaluationMs }));
}

// The SDK rejects a failed invoke outside the program's own promises: the run ends with the invokes it made as its
// error instead of a crash.
process.on("unhandledRejection", (reason) => {
    if (!invokes.length) throw reason;
    process.stdout.write(JSON.stringify({ error: `un-mocked invokes: ${invokes.join(", ")}`, resources, outputs: {}, invokes, evaluationMs: 0 }));
    process.exit(0);
});
main().catch((e) => { console.error(e); process.exit(1); });
