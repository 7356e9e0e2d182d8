/**
 * Restoring from a snapshot in the backup store (`restoreFrom: store:...`): the config, the backup host's sender (the
 * restore key's forced command), the fetch a member runs, and the resources each target makes for the read. The
 * lab test (test/lab-backup.e2e.test.ts) runs the SSH store for real; S3 and GCS reads are checked here only.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RawConfig, validateConfig } from "../components/config";
import { bucketStoreRead, s3ReadPolicy } from "../components/backup/bucketReader";
import { hostStoreRead, readerKeyLine, renderReaderAuthorizeScript, renderReaderRevokeScript, renderSenderScript } from "../components/backup/hostReader";
import { knownHostsLine } from "../components/backup/hostStore";
import { restoreKey } from "../components/config/restore";
import { parseResolvedSnapshot, renderRestoreFetchScript, renderRestoreResolveScript, uploadedSnapshotPath } from "../components/scripts/restore";
import { remoteCommand } from "../components/scripts/remote";
import { motoSkip, withMoto } from "./support/moto";
import { awsConfig, byType, gcpConfig, hostsConfig, named, runProgram, testHostKey } from "./support/program";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-restore-store-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const STORE = { host: { address: "192.0.2.50", hostKey: testHostKey(50) }, directory: "/srv/etcd-backups" };
const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `10.0.0.${i}`, hostKey: testHostKey(i) }));
const TOKEN = "etcd-cluster-dev-0123456789abcdef";
const PATH = `dev/${TOKEN}/hourly/20261123T180000Z-rev42.db`;

function validate(extra: RawConfig) {
    return validateConfig({ hosts, backup: { store: STORE }, ...extra }, { sshKeySet: true, stack: "dev" });
}

function restoreErrors(extra: RawConfig): string[] {
    return validate(extra).errors.filter((e) => e.startsWith("etcd-cluster:restoreFrom:"));
}

test("restoreFrom store:latest or store:<path as the backup reports it> names a snapshot in this stack's store", () => {
    for (const snapshot of ["latest", PATH, `dev/${TOKEN}/daily/20261123T000000Z-rev7.db`]) {
        const { config, errors } = validate({ restoreFrom: `store:${snapshot}`, restoreId: "again" });
        assert.deepEqual(errors, []);
        assert.deepEqual(config!.restore, { kind: "store", snapshot, id: "again" });
    }
});

test("a bad store snapshot, one of another stack, or a store restore without backup is refused, naming the key and what is allowed", () => {
    for (const bad of ["store:", "store:newest", `store:${PATH}.sha256`, `store:dev/${TOKEN}/weekly/20261123T180000Z-rev42.db`, "store:dev/../../etc/passwd"]) {
        const errors = restoreErrors({ restoreFrom: bad });
        assert.equal(errors.length, 1, bad);
        assert.match(errors[0], /is not allowed; allowed: store:latest \(the newest complete snapshot of this stack\), or store:<stack>\/<cluster token>\/<hourly\|daily>\/<UTC time>-rev<revision>\.db/);
    }
    assert.match(restoreErrors({ restoreFrom: `store:prod/etcd-cluster-prod-1/hourly/20261123T180000Z-rev42.db` }).join("\n"),
        /it is a backup of stack prod; a restore reads only this stack's \(dev\) backups/);
    const without = validateConfig({ hosts, restoreFrom: "store:latest" }, { sshKeySet: true, stack: "dev" }).errors;
    assert.deepEqual(without, ['etcd-cluster:restoreFrom: "store:latest" is not allowed; a snapshot in the backup store needs etcd-cluster:backup set (the store it reads from, as the backups were written); or give the path of a local snapshot file']);
});

/** Runs the sender as sshd would for the restore key: the request in SSH_ORIGINAL_COMMAND. */
function send(root: string, command: string, stack = "dev") {
    const file = path.join(tmp, "backup-send");
    fs.writeFileSync(file, renderSenderScript({ directory: root }));
    const r = spawnSync("bash", [file, stack], { env: { ...process.env, SSH_ORIGINAL_COMMAND: command } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function storeWith(files: Record<string, string>): string {
    const root = fs.mkdtempSync(path.join(tmp, "store-"));
    for (const [p, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
        fs.writeFileSync(path.join(root, p), content);
    }
    return root;
}

const stored = (p: string, content: string) => ({ [p]: content, [`${p}.sha256`]: `${sha256(content)}  ${path.basename(p)}\n` });

test("the restore key's forced command names the newest complete snapshot of its stack and sends it; nothing else", () => {
    const root = storeWith({
        ...stored(PATH, "snapshot 42"),
        ...stored(`dev/etcd-cluster-dev-fedcba9876543210/daily/20261124T000000Z-rev50.db`, "snapshot 50"),
        // Newer, but incomplete (no checksum file yet) or another stack's: never the latest.
        [`dev/${TOKEN}/hourly/20261125T000000Z-rev60.db`]: "incomplete",
        ...stored(`prod/etcd-cluster-prod-1/hourly/20271123T000000Z-rev9.db`, "prod"),
    });
    const before = spawnSync("find", [root, "-printf", "%P %s %T@\\n"], { encoding: "utf8" }).stdout;
    const latest = send(root, "resolve latest");
    assert.equal(latest.stdout.toString(), `snapshot dev/etcd-cluster-dev-fedcba9876543210/daily/20261124T000000Z-rev50.db ${sha256("snapshot 50")}\n`, latest.stderr);
    assert.equal(send(root, `resolve ${PATH}`).stdout.toString(), `snapshot ${PATH} ${sha256("snapshot 42")}\n`);
    const got = send(root, `get ${PATH}`);
    assert.equal(got.status, 0, got.stderr);
    assert.equal(got.stdout.toString(), "snapshot 42");
    for (const [command, why] of [
        [`resolve dev/${TOKEN}/hourly/20261125T000000Z-rev60.db`, /no complete snapshot/],
        [`get dev/${TOKEN}/hourly/20261125T000000Z-rev60.db`, /no complete snapshot/],
        ["get prod/etcd-cluster-prod-1/hourly/20271123T000000Z-rev9.db", /reads backups of stack dev only/],
        [`get dev/${TOKEN}/../../../etc/passwd`, /bad snapshot path/],
        [`put ${PATH} ${sha256("x")}`, /only 'resolve latest', 'resolve <path>' or 'get <path>'/],
        [`get ${PATH} extra`, /only 'resolve latest'/],
        ["rm -rf /", /only 'resolve latest'/],
        ["", /only 'resolve latest'/],
    ] as const) {
        const r = send(root, command);
        assert.notEqual(r.status, 0, command);
        assert.match(r.stderr, why, command);
    }
    const empty = send(storeWith({}), "resolve latest");
    assert.notEqual(empty.status, 0);
    assert.match(empty.stderr, /no complete snapshot of stack dev in the store/);
    assert.equal(spawnSync("find", [root, "-printf", "%P %s %T@\\n"], { encoding: "utf8" }).stdout, before, "the store is unchanged");
});

test("the restore key is authorized for the sender only, beside the members' key, and revoked when the restore goes", () => {
    assert.equal(readerKeyLine("dev", "ecdsa-sha2-nistp256 AAAAreader\n"),
        'restrict,command="/usr/local/lib/etcd-cluster/backup-send dev" ecdsa-sha2-nistp256 AAAAreader etcd-cluster-restore:dev');
    const authorize = renderReaderAuthorizeScript({ directory: "/srv/etcd-backups", stack: "dev", readerKey: "ecdsa-sha2-nistp256 AAAAreader" });
    assert.match(authorize, /grep -v -F -e ' etcd-cluster-restore:dev'/, "the members' key and other stacks' lines stay");
    assert.match(renderReaderRevokeScript("dev"), /grep -v -F -e ' etcd-cluster-restore:dev'/);
});

/** Store functions over a local directory: what the SSH and bucket reads do, without the network. */
const localRead = (root: string) => `store_resolve() { echo "unused"; }
store_get() { cat ${JSON.stringify(root)}/"$1" > "$2"; }`;

function fetchRun(root: string, sha: string, scratch: string) {
    const paths = { marker: path.join(scratch, "restored"), dir: path.join(scratch, "restore"), uploadDir: scratch };
    const key = restoreKey(sha, "");
    const script = renderRestoreFetchScript({ memberName: "etcd-2", snapshotSha256: sha, key, storePath: PATH, storeRead: localRead(root), paths });
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", input: "the read credentials\n" });
    return { ...r, upload: uploadedSnapshotPath(sha, paths), key, paths };
}

test("a member fetches the snapshot to where the check reads it, and refuses one whose SHA-256 is not the store's checksum", () => {
    const root = storeWith(stored(PATH, "snapshot 42"));
    const scratch = fs.mkdtempSync(path.join(tmp, "member-"));
    const good = fetchRun(root, sha256("snapshot 42"), scratch);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(fs.readFileSync(good.upload, "utf8"), "snapshot 42");
    assert.match(good.stdout, /fetched dev\/etcd-cluster-dev-0123456789abcdef\/hourly\/20261123T180000Z-rev42\.db/);

    fs.writeFileSync(path.join(root, PATH), "snapshot 4X");
    const other = fs.mkdtempSync(path.join(tmp, "member-"));
    const tampered = fetchRun(root, sha256("snapshot 42"), other);
    assert.notEqual(tampered.status, 0);
    assert.match(tampered.stderr, new RegExp(`etcd-cluster:restoreFrom: store:${PATH.replace(/\./g, "\\.")} arrived with SHA-256 ${sha256("snapshot 4X")}, but the store's checksum file says ${sha256("snapshot 42")}: the stored snapshot is corrupted or was altered\\. Nothing was changed`));
    assert.deepEqual(fs.readdirSync(other), [], "nothing is left where the check reads");

    fs.writeFileSync(tampered.paths.marker, `${tampered.key}\n`);
    const done = fetchRun(root, sha256("snapshot 42"), other);
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, /holds the data of restore \w+ already; nothing to fetch/);
});

test("the resolve step prints the snapshot and the store's SHA-256, or fails naming restoreFrom", () => {
    const resolve = (storeRead: string) => spawnSync("bash", ["-c", renderRestoreResolveScript({ snapshot: "latest", id: "", storeRead, storeDescription: "the store" })],
        { encoding: "utf8", input: "credentials\n" });
    const ok = resolve(`store_resolve() { [ -s "$work/credentials" ] && echo "snapshot ${PATH} ${sha256("x")}"; }\nstore_get() { :; }`);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(parseResolvedSnapshot(ok.stdout), { path: PATH, sha256: sha256("x") });
    const refused = resolve(`store_resolve() { echo "backup-send: no complete snapshot of stack dev in the store" >&2; return 1; }\nstore_get() { :; }`);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /^etcd-cluster:restoreFrom: store:latest: the store the store does not give it: backup-send: no complete snapshot of stack dev in the store/);
});

test("the store-restore scripts pass shellcheck, as bash and inside their POSIX sh wrapper", () => {
    const host = { address: "192.0.2.50", hostKey: testHostKey(50), user: "root", port: 22 };
    const reads = { ssh: hostStoreRead(host, knownHostsLine(host)), bucket: bucketStoreRead({ bucketUrl: "https://b.s3.eu-west-1.amazonaws.com", region: "eu-west-1", stack: "dev" }) };
    const scripts: Array<[string, string]> = [
        ["sender", renderSenderScript({ directory: "/srv/etcd-backups" })],
        ["authorize", renderReaderAuthorizeScript({ directory: "/srv/etcd-backups", stack: "dev", readerKey: "ecdsa-sha2-nistp256 AAAA" })],
        ["revoke", renderReaderRevokeScript("dev")],
    ];
    for (const [kind, storeRead] of Object.entries(reads)) {
        scripts.push([`resolve-${kind}`, renderRestoreResolveScript({ snapshot: "latest", id: "", storeRead, storeDescription: "the store" })]);
        scripts.push([`fetch-${kind}`, renderRestoreFetchScript({ memberName: "etcd-1", snapshotSha256: sha256("x"), key: "k", storePath: PATH, storeRead })]);
    }
    for (const [name, script] of scripts) {
        for (const [shell, text] of [["bash", script], ["sh", remoteCommand(script, { user: "admin", label: name })]]) {
            const file = path.join(tmp, `${name}.${shell}`);
            fs.writeFileSync(file, text);
            const r = spawnSync("shellcheck", [`--shell=${shell}`, "--severity=style", file], { encoding: "utf8" });
            if (r.error) throw new Error(`shellcheck is required for this test (see .ci/setup): ${r.error.message}`);
            assert.equal(r.status, 0, `${name} (${shell}): ${r.stdout}${r.stderr}`);
        }
    }
});

test("hosts: the restore's own key is authorized after the store is set up; one step resolves, then every member fetches and checks, credentials on standard input only", () => {
    const run = runProgram(hostsConfig(3, { backup: { store: STORE }, restoreFrom: "store:latest" }));
    assert.equal(run.error, undefined);
    const authorize = named(run, "etcd-restore-reader");
    assert.ok(authorize.started >= named(run, "etcd-backup-store").finished, "the backup user and store exist first");
    assert.match(String(authorize.inputs.create), /restrict,command="\/usr\/local\/lib\/etcd-cluster\/backup-send dev" ecdsa-sha2-nistp256|restrict,command="\/usr\/local\/lib\/etcd-cluster\/backup-send dev" ssh-/);
    assert.match(String(authorize.inputs.delete), /revoke the restore key of stack dev/i);
    assert.equal((authorize.inputs.connection as Record<string, unknown>).hostKey, testHostKey(50));
    const resolve = named(run, "etcd-restore-resolve");
    assert.ok(resolve.started >= authorize.finished);
    assert.match(String(resolve.inputs.create), /store_resolve 'latest'/);
    for (const m of ["etcd-1", "etcd-2", "etcd-3"]) {
        const fetch = named(run, `${m}-restore-fetch`);
        const check = named(run, `${m}-restore-check`);
        assert.ok(fetch.started >= resolve.finished && check.started >= fetch.finished, `${m}: resolve, fetch, check`);
        assert.match(String(fetch.inputs.create), new RegExp(`store_get '${PATH.replace(/\./g, "\\.")}'`));
        assert.match(String(check.inputs.create), new RegExp(`sha='${"5".repeat(64)}'`), "the check verifies the store's SHA-256");
        assert.match(String(named(run, `${m}-restore`).inputs.create), new RegExp(`key='${restoreKey("5".repeat(64), "")}'`));
        assert.ok(fetch.secretInputs.includes("stdin"));
        assert.equal(run.resources.filter((r) => r.name === `${m}-restore-upload`).length, 0);
    }
    assert.ok(resolve.secretInputs.includes("stdin"));
    for (const r of run.resources.filter((x) => x.type === "command:remote:Command")) {
        assert.doesNotMatch(JSON.stringify([r.inputs as Record<string, unknown>].map((i) => [i.create, i.delete])), /PRIVATE KEY/, `${r.name}: no key in a command`);
    }
    for (const m of ["etcd-1", "etcd-2", "etcd-3"]) {
        assert.doesNotMatch(String(named(run, `${m}-backup`).inputs.create), /backup-send|etcd-cluster-restore/, "the members' backup step knows nothing of the read key");
    }
});

test("aws: a reader user that may only get and list below the stack's prefix; the members' role stays put-only", () => {
    assert.deepEqual(JSON.parse(s3ReadPolicy("arn:aws:s3:::b", "dev", "eu-west-1", false)).Statement, [
        { Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::b/dev/*"] },
        { Effect: "Allow", Action: ["s3:ListBucket"], Resource: ["arn:aws:s3:::b"], Condition: { StringLike: { "s3:prefix": ["dev/*"] } } },
    ]);
    assert.deepEqual(JSON.parse(s3ReadPolicy("arn:aws:s3:::b", "dev", "eu-west-1", true)).Statement[2],
        { Effect: "Allow", Action: ["kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } } });
    const run = runProgram(awsConfig(3, {}, { backup: { schedule: "hourly" }, restoreFrom: "store:latest" }));
    assert.equal(run.error, undefined);
    const user = byType(run, "aws:iam/user:User");
    assert.equal(user.length, 1);
    const policy = JSON.parse(String(byType(run, "aws:iam/userPolicy:UserPolicy")[0].inputs.policy));
    assert.deepEqual(policy.Statement.map((s: { Action: string[] }) => s.Action), [["s3:GetObject"], ["s3:ListBucket"]]);
    assert.equal(byType(run, "aws:iam/accessKey:AccessKey").length, 1);
    assert.deepEqual(JSON.parse(String(byType(run, "aws:iam/rolePolicy:RolePolicy")[0].inputs.policy)).Statement[0].Action, ["s3:PutObject", "s3:PutObjectTagging"], "the members' role is unchanged");
    const resolve = named(run, "etcd-restore-resolve");
    assert.match(String(resolve.inputs.create), /aws-sigv4 = "aws:amz:eu-west-1:s3"/);
    assert.match(String(resolve.inputs.create), /bucket_url='https:\/\/etcd-dev-backups-20261123\.s3\.eu-west-1\.amazonaws\.com'/);
    assert.ok(resolve.secretInputs.includes("stdin"), "the access key reaches the member on standard input, secret");
    assert.ok(resolve.started >= Math.max(...byType(run, "aws:iam/accessKey:AccessKey").map((k) => k.finished)));
    assert.equal(runProgram(awsConfig(3, {}, { backup: { schedule: "hourly" } })).resources.filter((r) => r.type === "aws:iam/user:User").length, 0, "no reader without a store restore");
});

test("gcp: a reader service account that may only view the stack's bucket, with an HMAC key; the members' account stays create-only", () => {
    const run = runProgram(gcpConfig(3, {}, { backup: { schedule: "hourly" }, restoreFrom: `store:${PATH}` }));
    assert.equal(run.error, undefined);
    const bindings = byType(run, "gcp:storage/bucketIAMMember:BucketIAMMember").map((b) => [b.name, b.inputs.role]);
    assert.deepEqual(bindings.sort(), [["etcd-dev-backup-reader-view-only", "roles/storage.objectViewer"], ["etcd-dev-backup-writer-create-only", "roles/storage.objectCreator"]]);
    assert.equal(byType(run, "gcp:storage/hmacKey:HmacKey").length, 1);
    const writer = byType(run, "gcp:serviceaccount/account:Account").find((a) => a.name === "etcd-dev-backup-writer")!;
    for (const instance of byType(run, "gcp:compute/instance:Instance")) {
        assert.equal((instance.inputs.serviceAccount as Record<string, unknown>).email, `${writer.name}@etcd-test.iam.gserviceaccount.com`, `${instance.name} carries the writer only`);
    }
    const resolve = named(run, "etcd-restore-resolve");
    assert.match(String(resolve.inputs.create), /bucket_url='https:\/\/storage\.googleapis\.com\/etcd-dev-backups-20261123'/);
    assert.match(String(resolve.inputs.create), /aws-sigv4 = "aws:amz:auto:s3"/);
});

test("S3 read against a local S3 stand-in (moto): store:latest names the newest complete backup of the stack, a member fetches it, an altered one is refused", { skip: motoSkip }, async () => {
    await withMoto(46000, async (base) => {
        const bucket = `${base}/etcd-backups-y`;
        // Uploaded as the backup does (a signed PUT of a file): moto does not serve objects put otherwise.
        const put = (key: string, body: string) => {
            const file = path.join(tmp, "upload");
            fs.writeFileSync(file, body);
            const r = spawnSync("curl", ["-fsS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "AKIDEXAMPLE:secretexample", "-H", `x-amz-content-sha256: ${sha256(body)}`, "-T", file, `${bucket}/${key}`]);
            assert.equal(r.status, 0, `${key}: ${r.stderr}`);
        };
        assert.equal(spawnSync("curl", ["-fsS", "-X", "PUT", bucket]).status, 0);
        const newest = `dev/etcd-cluster-dev-fedcba9876543210/daily/20261124T000000Z-rev50.db`;
        for (const [key, body] of Object.entries({
            ...stored(PATH, "snapshot 42"),
            ...stored(newest, "snapshot 50"),
            [`dev/${TOKEN}/hourly/20261125T000000Z-rev60.db`]: "incomplete",
            ...stored("prod/etcd-cluster-prod-1/hourly/20271123T000000Z-rev9.db", "prod"),
        })) put(key, body);
        const storeRead = bucketStoreRead({ bucketUrl: bucket, region: "us-east-1", stack: "dev" });
        const resolve = spawnSync("bash", ["-c", renderRestoreResolveScript({ snapshot: "latest", id: "", storeRead, storeDescription: bucket })], { encoding: "utf8", input: "AKIDEXAMPLE secretexample\n" });
        assert.equal(resolve.status, 0, resolve.stderr);
        assert.deepEqual(parseResolvedSnapshot(resolve.stdout), { path: newest, sha256: sha256("snapshot 50") });

        const fetch = (scratch: string) => {
            const paths = { marker: path.join(scratch, "restored"), dir: path.join(scratch, "restore"), uploadDir: scratch };
            const script = renderRestoreFetchScript({ memberName: "etcd-1", snapshotSha256: sha256("snapshot 50"), key: restoreKey(sha256("snapshot 50"), ""), storePath: newest, storeRead, paths });
            return { ...spawnSync("bash", ["-c", script], { encoding: "utf8", input: "AKIDEXAMPLE secretexample\n" }), upload: uploadedSnapshotPath(sha256("snapshot 50"), paths) };
        };
        const good = fetch(fs.mkdtempSync(path.join(tmp, "s3-member-")));
        assert.equal(good.status, 0, good.stderr);
        assert.equal(fs.readFileSync(good.upload, "utf8"), "snapshot 50");
        put(newest, "snapshot 5X");
        const altered = fetch(fs.mkdtempSync(path.join(tmp, "s3-member-")));
        assert.notEqual(altered.status, 0);
        assert.match(altered.stderr, /arrived with SHA-256 [0-9a-f]{64}, but the store's checksum file says [0-9a-f]{64}: the stored snapshot is corrupted or was altered/);
        assert.equal(fs.existsSync(altered.upload), false);
    });
});
