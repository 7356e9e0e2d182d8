import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RawConfig, validateConfig } from "../components/config";
import { renderBackupScript } from "../components/backup/backupScript";
import { gcsLifecycleRules, gcsStorePut } from "../components/backup/gcsStore";
import { authorizedKeyLine, hostStorePut, knownHostsLine, renderReceiverScript, renderStoreHostSetupScript } from "../components/backup/hostStore";
import { renderBackupInstallScript, renderBackupRemoveScript } from "../components/backup/memberBackups";
import { s3StorePut, s3WritePolicy } from "../components/backup/s3Store";
import { maxBackupAgeSeconds, parseSchedule } from "../components/backup/settings";
import { renderBackupService, renderBackupTimer } from "../components/backup/units";
import { remoteCommand } from "../components/scripts/remote";
import { motoSkip, withMoto } from "./support/moto";
import { awsConfig, byType, gcpConfig, hostsConfig, named, runProgram, testHostKey } from "./support/program";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-backup-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STORE = { host: { address: "192.0.2.50", hostKey: testHostKey(50) }, directory: "/srv/etcd-backups" };
const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `10.0.0.${i}`, hostKey: testHostKey(i) }));

function validate(backup: unknown, extra: RawConfig = {}) {
    return validateConfig({ hosts, backup, ...extra }, { sshKeySet: true });
}

function errorFor(backup: unknown, key: string, allowed: RegExp, extra: RawConfig = {}): void {
    const { errors } = validate(backup, extra);
    const mine = errors.filter((e) => e.startsWith(`etcd-cluster:${key}:`));
    assert.equal(mine.length, 1, `expected one error for ${key}, got: ${errors.join(" | ")}`);
    assert.match(mine[0], allowed);
}

function tool(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): { status: number | null; out: string; stdout: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, env: opts.env });
    if (r.error) throw new Error(`${cmd} is required for this test (install it: see .ci/setup): ${r.error.message}`);
    return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

test("backup settings: off unless set; defaults hourly, 24 scheduled and 7 daily kept", () => {
    assert.equal(validate(undefined).backup, undefined);
    const { backup, errors } = validate({ store: STORE });
    assert.deepEqual(errors, []);
    assert.deepEqual(backup, {
        schedule: { text: "hourly", onCalendar: "*-*-* *:00:00", intervalSeconds: 3600 },
        retention: { hourly: 24, daily: 7 },
        store: { kind: "host", host: { address: "192.0.2.50", hostKey: testHostKey(50), user: "root", port: 22 }, directory: "/srv/etcd-backups" },
    });
    assert.equal(validate({ schedule: "every 15m", retention: { hourly: 8, daily: 0 }, store: STORE }).backup!.schedule.onCalendar, "*-*-* *:00/15:00");
});

test("bad backup settings are refused, each naming the key and what is allowed", () => {
    errorFor({ schedule: "every 7m", store: STORE }, "backup.schedule", /"every 7m" is not allowed; allowed: hourly, daily, "every <N>m"/);
    errorFor({ schedule: "*:0/5", store: STORE }, "backup.schedule", /allowed: hourly, daily/);
    errorFor({ retention: { hourly: 0 }, store: STORE }, "backup.retention.hourly", /allowed: a whole number 1-10000/);
    errorFor({ retention: { weekly: 4 }, store: STORE }, "backup.retention.weekly", /unknown key "weekly"; allowed keys: hourly, daily/);
    errorFor({ schedule: "hourly" }, "backup.store", /is not set; with target hosts backups go to a directory on a backup host over SSH/);
    errorFor({ store: { ...STORE, directory: "/var" } }, "backup.store.directory", /a system directory cannot be the store/);
    errorFor({ store: { ...STORE, directory: "backups" } }, "backup.store.directory", /expected an absolute path/);
    errorFor({ store: { ...STORE, host: { address: "192.0.2.50" } } }, "backup.store.host.hostKey", /SSH public key/);
    errorFor({ store: { ...STORE, host: { ...STORE.host, port: "2x" } } }, "backup.store.host.port", /port number/);
    errorFor({ store: STORE }, "backup.store", /with target aws the store is an S3 bucket the program creates; remove backup.store/, { target: "aws" });
    assert.equal(validate({ schedule: "bogus" }).config, undefined, "nothing is deployed on bad backup settings");
});

test("schedules are calendar expressions systemd accepts, firing at the same instants on every member", () => {
    for (const text of ["hourly", "daily", "every 1m", "every 15m", "every 30m", "every 2h", "every 12h"]) {
        const s = parseSchedule(text)!;
        const r = tool("systemd-analyze", ["calendar", "--iterations=3", s.onCalendar]);
        assert.equal(r.status, 0, r.out);
        const next = [...r.out.matchAll(/(?:Next elapse|Iter\. #\d): \w+ (\S+ \S+)/g)].map((m) => Date.parse(`${m[1].replace(" ", "T")}`));
        assert.equal(next.length, 3, r.out);
        assert.equal((next[2] - next[1]) / 1000, s.intervalSeconds, `${text}: ${r.out}`);
    }
    assert.equal(parseSchedule("every 45m"), undefined, "an interval that does not divide the hour would drift against the daily backup");
    assert.equal(maxBackupAgeSeconds(parseSchedule("hourly")!), 2 * 3600 + 600);
});

test("the backup service and timer pass systemd-analyze verify; the timer has no random delay and no catch-up", () => {
    const dir = path.join(tmp, "units");
    fs.mkdirSync(dir);
    const exe = path.join(dir, "backup.sh");
    fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "etcd-backup.service"), renderBackupService("etcd-1").replace("/etc/etcd/backup/backup.sh", exe));
    const timer = renderBackupTimer("etcd-1", parseSchedule("every 5m")!);
    fs.writeFileSync(path.join(dir, "etcd-backup.timer"), timer);
    for (const unit of ["etcd-backup.service", "etcd-backup.timer"]) {
        const r = tool("systemd-analyze", ["verify", path.join(dir, unit)]);
        assert.equal(r.status, 0, r.out);
        assert.equal(r.out.trim(), "", `systemd-analyze verify complained about ${unit}:\n${r.out}`);
    }
    for (const line of ["OnCalendar=*-*-* *:00/5:00", "RandomizedDelaySec=0", "Persistent=false", "Unit=etcd-backup.service"]) assert.ok(timer.split("\n").includes(line), line);
});

const backupScript = (storePut: string, keepDaily = 7) => renderBackupScript({
    memberName: "etcd-1", etcdVersion: "3.6.14", ownEndpoint: "https://10.0.0.1:2379", stack: "dev", clusterToken: "etcd-cluster-dev-0123456789abcdef",
    intervalSeconds: 3600, maxAgeSeconds: 7800, keepDaily, storePut, storeDescription: "the store",
});
const storeHost = { address: "192.0.2.50", hostKey: testHostKey(50), user: "root", port: 2222 };

test("every backup script passes shellcheck, as bash and inside its POSIX sh wrapper", () => {
    const scripts: Record<string, string> = {
        "backup-host": backupScript(hostStorePut(storeHost)),
        "backup-s3": backupScript(s3StorePut({ region: "eu-west-1", bucket: "etcd-backups-x" }), 0),
        "backup-gcs": backupScript(gcsStorePut({ bucket: "etcd-backups-x" })),
        receiver: renderReceiverScript({ directory: "/srv/etcd-backups" }),
        install: renderBackupInstallScript({ memberName: "etcd-1", inlineFiles: [{ path: "/etc/etcd/backup/known_hosts", mode: "644", owner: "root:root", content: "x\n" }], stdinPaths: ["/etc/etcd/backup/id_store"] }),
        "install-cloud": renderBackupInstallScript({ memberName: "etcd-1", inlineFiles: [], stdinPaths: [] }),
        remove: renderBackupRemoveScript("etcd-1"),
        "store-setup": renderStoreHostSetupScript({ directory: "/srv/etcd-backups", stack: "dev", retention: { hourly: 24, daily: 7 }, memberKey: "ecdsa-sha2-nistp256 AAAA", receiver: "#!/bin/bash\n" }),
    };
    for (const [name, script] of Object.entries(scripts)) {
        const inner = path.join(tmp, `${name}.bash`);
        fs.writeFileSync(inner, script.startsWith("#!") ? script : `#!/usr/bin/env bash\n${script}`);
        const bash = tool("shellcheck", ["--severity=style", inner]);
        assert.equal(bash.status, 0, `${name}:\n${bash.out}`);
        const wrapper = path.join(tmp, `${name}.sh`);
        fs.writeFileSync(wrapper, remoteCommand(script, { user: "admin", label: name }));
        const sh = tool("shellcheck", ["--shell=sh", "--severity=style", wrapper]);
        assert.equal(sh.status, 0, `${name} wrapper:\n${sh.out}`);
    }
});

test("a daily copy only when daily backups are kept; the backup host's key is verified", () => {
    assert.match(backupScript(hostStorePut(storeHost)), /store_put daily/);
    assert.doesNotMatch(backupScript(hostStorePut(storeHost), 0), /store_put daily/);
    assert.match(hostStorePut(storeHost), /StrictHostKeyChecking=yes -o UserKnownHostsFile=\/etc\/etcd\/backup\/known_hosts/);
    assert.equal(knownHostsLine(storeHost), `[192.0.2.50]:2222 ${testHostKey(50)}\n`);
    assert.equal(knownHostsLine({ ...storeHost, port: 22 }), `192.0.2.50 ${testHostKey(50)}\n`);
});

/** Runs the receiver as sshd would for a forced command, against a store under `root`. */
function receive(root: string, command: string, input: string | Buffer, stack = "dev", keep = [3, 2]): { status: number | null; out: string } {
    const file = path.join(tmp, "receive");
    fs.writeFileSync(file, renderReceiverScript({ directory: root }), { mode: 0o755 });
    const r = spawnSync("bash", [file, stack, String(keep[0]), String(keep[1])], { encoding: "utf8", input, env: { ...process.env, SSH_ORIGINAL_COMMAND: command } });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test("the backup host's receiver stores a snapshot only under a new, well-formed name of its own stack, with a matching SHA-256", () => {
    const root = fs.mkdtempSync(path.join(tmp, "store-"));
    const dir = path.join(root, "dev/etcd-cluster-dev-0123456789abcdef/hourly");
    const snap = Buffer.from("snapshot bytes");
    const name = "20261123T180000Z-rev42.db";
    const put = `put dev/etcd-cluster-dev-0123456789abcdef/hourly/${name} ${sha256(snap)}`;
    const stored = receive(root, put, snap);
    assert.equal(stored.status, 0, stored.out);
    assert.deepEqual(fs.readFileSync(path.join(dir, name)), snap);
    assert.equal(fs.readFileSync(path.join(dir, `${name}.sha256`), "utf8"), `${sha256(snap)}  ${name}\n`);
    const check = spawnSync("sha256sum", ["-c", `${name}.sha256`], { cwd: dir, encoding: "utf8" });
    assert.equal(check.status, 0, "the checksum file is what sha256sum -c reads");

    assert.equal(receive(root, put, snap).status, 0, "the same snapshot again is fine");
    const replace = receive(root, `put dev/etcd-cluster-dev-0123456789abcdef/hourly/${name} ${sha256("other")}`, "other");
    assert.notEqual(replace.status, 0);
    assert.match(replace.out, /a stored backup is never replaced/);
    assert.deepEqual(fs.readFileSync(path.join(dir, name)), snap);

    const torn = receive(root, `put dev/etcd-cluster-dev-0123456789abcdef/hourly/20261123T190000Z-rev43.db ${sha256(snap)}`, "torn");
    assert.notEqual(torn.status, 0);
    assert.match(torn.out, /arrived with sha256 .* not stored/);
    for (const [command, why] of [
        [`put other/etcd-cluster-other-1/hourly/${name} ${sha256(snap)}`, /writes backups of stack dev only/],
        [`put dev/etcd-cluster-dev-1/../../x/${name} ${sha256(snap)}`, /bad snapshot path/],
        [`put dev/etcd-cluster-dev-1/weekly/${name} ${sha256(snap)}`, /bad snapshot path/],
        [`get dev/etcd-cluster-dev-1/hourly/${name}`, /only 'put/],
        ["rm -rf /", /only 'put/],
        ["", /only 'put/],
    ] as const) {
        const r = receive(root, command, snap);
        assert.notEqual(r.status, 0, command);
        assert.match(r.out, why, command);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), [name, `${name}.sha256`], "nothing else was written, no temporary file is left");
});

test("the receiver keeps the newest scheduled and daily backups, removes older complete ones, and ignores incomplete ones", () => {
    const root = fs.mkdtempSync(path.join(tmp, "store-"));
    const base = "dev/etcd-cluster-dev-0123456789abcdef";
    const incomplete = path.join(root, base, "hourly", "20261123T000000Z-rev1.db");
    fs.mkdirSync(path.dirname(incomplete), { recursive: true });
    fs.writeFileSync(incomplete, "a snapshot whose checksum never arrived");
    for (let hour = 10; hour < 15; hour++) {
        const snap = `snapshot ${hour}`;
        const r = receive(root, `put ${base}/hourly/20261123T${hour}0000Z-rev${hour}.db ${sha256(snap)}`, snap);
        assert.equal(r.status, 0, r.out);
    }
    for (const day of [21, 22, 23]) {
        const snap = `daily ${day}`;
        assert.equal(receive(root, `put ${base}/daily/202611${day}T000000Z-rev${day}.db ${sha256(snap)}`, snap).status, 0);
    }
    const list = (tier: string) => fs.readdirSync(path.join(root, base, tier)).filter((f) => f.endsWith(".db")).sort();
    assert.deepEqual(list("hourly"), ["20261123T000000Z-rev1.db", "20261123T120000Z-rev12.db", "20261123T130000Z-rev13.db", "20261123T140000Z-rev14.db"]);
    assert.deepEqual(list("daily"), ["20261122T000000Z-rev22.db", "20261123T000000Z-rev23.db"]);
});

test("the backup host setup: a user of its own, a store it never takes over, and a key that can only run the receiver", () => {
    const line = authorizedKeyLine({ stack: "dev", retention: { hourly: 24, daily: 7 }, memberKey: "ecdsa-sha2-nistp256 AAAAkey\n" });
    assert.equal(line, 'restrict,command="/usr/local/lib/etcd-cluster/backup-receive dev 24 7" ecdsa-sha2-nistp256 AAAAkey etcd-cluster-backup:dev');
    const setup = renderStoreHostSetupScript({ directory: "/srv/etcd-backups", stack: "dev", retention: { hourly: 24, daily: 7 }, memberKey: "ecdsa-sha2-nistp256 AAAAkey", receiver: "#!/bin/bash\n" });
    assert.match(setup, /exists and belongs to \$owner, not etcd-backup; choose a new directory/);
    assert.match(setup, /grep -v -F -e ' etcd-cluster-backup:dev'/, "other stacks' keys stay");
});

test("S3: members may only put objects below their stack; retention by the tier tag in whole days", () => {
    assert.deepEqual(JSON.parse(s3WritePolicy("arn:aws:s3:::b", "dev")).Statement, [{ Effect: "Allow", Action: ["s3:PutObject", "s3:PutObjectTagging"], Resource: ["arn:aws:s3:::b/dev/*"] }]);
    const put = s3StorePut({ region: "eu-west-1", bucket: "b" });
    assert.match(put, /--config - -T "\$2"/, "credentials reach curl on standard input");
    assert.doesNotMatch(put, /--user/);
    const rules = gcsLifecycleRules({ hourly: 24, daily: 7 }, parseSchedule("hourly")!);
    assert.deepEqual(rules.map((r) => r.condition), [{ daysSinceCustomTime: 1 }, { age: 7 }, { daysSinceNoncurrentTime: 7, withState: "ARCHIVED" }]);
});

const hostsRun = runProgram(hostsConfig(3, { backup: { schedule: "every 5m", retention: { hourly: 12, daily: 3 }, store: STORE } }));

test("with backup on hosts: the store is set up over a verified connection, then each member gets its timer once the cluster is healthy", () => {
    assert.equal(hostsRun.error, undefined);
    const setup = named(hostsRun, "etcd-backup-store");
    const connection = setup.inputs.connection as Record<string, unknown>;
    assert.equal(connection.host, "192.0.2.50");
    assert.equal(connection.hostKey, testHostKey(50));
    assert.match(String(setup.inputs.create), /restrict,command="\/usr\/local\/lib\/etcd-cluster\/backup-receive dev 12 3"/);
    const health = named(hostsRun, "etcd-health");
    for (const m of ["etcd-1", "etcd-2", "etcd-3"]) {
        const step = named(hostsRun, `${m}-backup`);
        assert.ok(step.started > health.finished && step.started > setup.finished, `${m}'s backup step waits for the health gate and the store`);
        assert.match(String(step.inputs.create), /OnCalendar=\*-\*-\* \*:00\/5:00/);
        assert.match(String(step.inputs.create), /only the leader takes it/);
        assert.doesNotMatch(String(step.inputs.create), /PRIVATE KEY/, "the backup key travels on standard input only");
        assert.ok(step.secretInputs.includes("stdin"), "standard input is secret");
        assert.match(String(step.inputs.delete), /systemctl disable --now --quiet etcd-backup.timer/);
    }
    const report = hostsRun.outputs.backupStatus.value as Record<string, unknown>;
    assert.equal(report.schedule, "every 5m");
    assert.equal(report.store, "root@192.0.2.50:/srv/etcd-backups (SSH port 22)");
    assert.equal(report.lastSuccessFile, "/var/lib/etcd-cluster/backup/last-success");
});

test("without backup nothing backup-related is made, and members still publish their certificate expiry", () => {
    const run = runProgram(hostsConfig(3));
    assert.equal(run.error, undefined);
    assert.deepEqual(run.resources.filter((r) => /backup/.test(r.name)).map((r) => r.name), []);
    assert.match(String(named(run, "etcd-1-configure").inputs.create),
        /etcd_certificate_expiry_timestamp_seconds\{member="etcd-1",certificate="server"\} 1826992800/);
});

test("with backup on aws: a versioned, encrypted, private bucket with tag-based retention, and an instance profile that can only put", () => {
    const run = runProgram(awsConfig(3, {}, { backup: { retention: { hourly: 48, daily: 14 } } }));
    assert.equal(run.error, undefined);
    const bucket = byType(run, "aws:s3/bucket:Bucket")[0];
    assert.equal(bucket.inputs.bucketPrefix, "etcd-backups-");
    assert.deepEqual((byType(run, "aws:s3/bucketVersioning:BucketVersioning")[0].inputs.versioningConfiguration as Record<string, unknown>).status, "Enabled");
    assert.ok(byType(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").length === 1);
    const block = byType(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs;
    assert.deepEqual([block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets], [true, true, true, true]);
    const rules = byType(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0].inputs.rules as Array<Record<string, any>>;
    assert.deepEqual(rules.map((r) => [r.filter.tag.value, r.expiration.days]), [["hourly", 2], ["daily", 14]]);
    const policy = JSON.parse(String(byType(run, "aws:iam/rolePolicy:RolePolicy")[0].inputs.policy));
    assert.deepEqual(policy.Statement[0].Action, ["s3:PutObject", "s3:PutObjectTagging"]);
    const profile = byType(run, "aws:iam/instanceProfile:InstanceProfile")[0];
    for (const instance of byType(run, "aws:ec2/instance:Instance")) assert.equal(instance.inputs.iamInstanceProfile, `${profile.name}-20261123`, `${instance.name} carries the backup writer's profile`);
    assert.equal((run.outputs.backupStatus.value as Record<string, unknown>).store, "s3://etcd-dev-backups-20261123/");
    for (const m of ["etcd-1", "etcd-2", "etcd-3"]) assert.match(String(named(run, `${m}-backup`).inputs.create), /aws-sigv4 = "aws:amz:eu-west-1:s3"/);
});

test("with backup on a cloud, members may leave on 443 for the bucket, whatever the release mirror's port, with each port opened once", () => {
    type Egress = { description: string; fromPort: number; toPort: number };
    const egress = (run: ReturnType<typeof runProgram>) => (byType(run, "aws:ec2/securityGroup:SecurityGroup")[0].inputs.egress as Egress[])
        .map((e) => [e.description, e.fromPort, e.toPort]);
    const mirror = runProgram(awsConfig(3, {}, { backup: { schedule: "hourly" }, etcdDownloadUrl: "https://mirror.example.com:8443/etcd" }));
    assert.equal(mirror.error, undefined);
    assert.deepEqual(egress(mirror), [["etcd: to members", 2379, 2380], ["etcd release download", 8443, 8443], ["backups to S3", 443, 443]]);
    const shared = runProgram(awsConfig(3, {}, { backup: { schedule: "hourly" } }));
    assert.deepEqual(egress(shared), [["etcd: to members", 2379, 2380], ["etcd release download, backups to S3", 443, 443]]);
    const gcp = runProgram(gcpConfig(3, {}, { backup: { schedule: "hourly" } }));
    const out = byType(gcp, "gcp:compute/firewall:Firewall").filter((f) => f.name.includes("-out-"));
    assert.deepEqual(out.map((f) => [f.name, f.inputs.description]), [["etcd-dev-out-443", "etcd release download, backups to GCS"]], "one rule per port: GCP names rules by it");
});

test("S3 uploads work against a local S3 stand-in (moto): the snapshot and its checksum file arrive intact under the stack's prefix", { skip: motoSkip }, async () => {
    await withMoto(45000, async (base) => {
        assert.equal(tool("curl", ["-fsS", "-X", "PUT", `${base}/etcd-backups-x`]).status, 0);
        const dir = fs.mkdtempSync(path.join(tmp, "s3-"));
        const snap = Buffer.from("etcd snapshot bytes\n".repeat(1000));
        const name = "20261123T180000Z-rev42.db";
        fs.writeFileSync(path.join(dir, name), snap);
        const script = `set -euo pipefail\nprefix=dev/etcd-cluster-dev-0123456789abcdef\n${s3StorePut({ region: "us-east-1", bucket: "etcd-backups-x", endpoint: `${base}/etcd-backups-x`, metadataUrl: base })}\n` +
            `store_put hourly ${name} ${path.join(dir, name)} ${sha256(snap)}\n`;
        const run = tool("bash", ["-c", script]);
        assert.equal(run.status, 0, run.out);
        // This moto answers object reads with 403, so the listing shows what arrived: keys, sizes and MD5 ETags.
        const listing = tool("curl", ["-fsS", `${base}/etcd-backups-x?list-type=2`]).stdout;
        const objects = [...listing.matchAll(/<Key>([^<]+)<\/Key>.*?<ETag>&#34;([0-9a-f]+)&#34;<\/ETag><Size>(\d+)<\/Size>|<Key>([^<]+)<\/Key>.*?<ETag>"([0-9a-f]+)"<\/ETag><Size>(\d+)<\/Size>/g)]
            .map((m) => ({ key: m[1] ?? m[4], md5: m[2] ?? m[5], size: Number(m[3] ?? m[6]) }));
        const sums = `${sha256(snap)}  ${name}\n`;
        const md5 = (data: string | Buffer) => createHash("md5").update(data).digest("hex");
        assert.deepEqual(objects, [
            { key: `dev/etcd-cluster-dev-0123456789abcdef/hourly/${name}`, md5: md5(snap), size: snap.length },
            { key: `dev/etcd-cluster-dev-0123456789abcdef/hourly/${name}.sha256`, md5: md5(sums), size: sums.length },
        ], listing);
    });
});

test("GCS (standalone, for the GCP target to hook in): a versioned private bucket and a service account that can only create objects", () => {
    const run = runProgram({}, path.join(__dirname, "fixtures", "gcs-backup-store-program.ts"));
    assert.equal(run.error, undefined);
    const bucket = byType(run, "gcp:storage/bucket:Bucket")[0].inputs;
    assert.deepEqual([bucket.uniformBucketLevelAccess, bucket.publicAccessPrevention, (bucket.versioning as Record<string, unknown>).enabled], [true, "enforced", true]);
    assert.deepEqual((bucket.lifecycleRules as Array<Record<string, unknown>>).map((r) => r.condition), [{ daysSinceCustomTime: 2 }, { age: 10 }, { daysSinceNoncurrentTime: 7, withState: "ARCHIVED" }]);
    const account = byType(run, "gcp:serviceaccount/account:Account")[0];
    const binding = byType(run, "gcp:storage/bucketIAMMember:BucketIAMMember")[0].inputs;
    assert.deepEqual([binding.bucket, binding.role, binding.member], ["etcd-dev-backups-20261123", "roles/storage.objectCreator", `serviceAccount:${account.name}@etcd-test.iam.gserviceaccount.com`]);
    assert.equal(run.outputs.description.value, "gs://etcd-dev-backups-20261123/");
    assert.match(String(run.outputs.storePut.value), /https:\/\/storage\.googleapis\.com\/etcd-dev-backups-20261123/);
});

/** The backup script with its tools, state and metrics directories moved under `dir`, and a store_put that copies into dir/store. */
function runBackup(dir: string, env: { leader: string; snapshot: Buffer; revision?: number }): { status: number | null; out: string; metrics: string } {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(dir, "snapshot"), env.snapshot);
    fs.writeFileSync(path.join(bin, "etcdctl"), `#!/bin/bash
case "$*" in
  *"endpoint status -w fields"*) printf '"MemberID" : 111\\n"Leader" : %s\\n' "${env.leader}" ;;
  *"snapshot save "*) cp ${dir}/snapshot "\${@: -1}" ;;
  *) exit 2 ;;
esac
`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "etcdutl"), `#!/bin/bash\necho '{"hash":3735928559,"revision":${env.revision ?? 42},"totalKey":3,"totalSize":20480}'\n`, { mode: 0o755 });
    const storePut = `store_put() { mkdir -p "${dir}/store/$1"; cp "$3" "${dir}/store/$1/$2"; echo "$4  $2" > "${dir}/store/$1/$2.sha256"; }`;
    const script = backupScript(storePut)
        .replace(/\/opt\/etcd\/v3\.6\.14\//g, `${bin}/`)
        .replace(/\/var\/lib\/etcd-cluster\/backup/g, path.join(dir, "state"))
        .replace(/\/var\/lib\/prometheus\/node-exporter/g, path.join(dir, "metrics"));
    const r = tool("bash", ["-c", script]);
    const metricsFile = path.join(dir, "metrics", "etcd_backup.prom");
    return { status: r.status, out: r.out, metrics: fs.existsSync(metricsFile) ? fs.readFileSync(metricsFile, "utf8") : "" };
}

/** A snapshot as etcd streams it: the database followed by its SHA-256. */
function etcdSnapshot(db: Buffer): Buffer {
    return Buffer.concat([db, createHash("sha256").update(db).digest()]);
}

test("the backup script run: a follower only records its turn; the leader stores a verified snapshot named by its revision; a corrupt one fails loudly", () => {
    const follower = fs.mkdtempSync(path.join(tmp, "run-"));
    const skipped = runBackup(follower, { leader: "222", snapshot: etcdSnapshot(Buffer.alloc(20480, 7)) });
    assert.equal(skipped.status, 0, skipped.out);
    assert.match(skipped.out, /etcd-1 is not the leader \(leader: 222\): the leader takes this backup/);
    assert.equal(fs.existsSync(path.join(follower, "store")), false);
    assert.match(skipped.metrics, /^etcd_backup_last_run_success\{stack="dev"\} 1$/m);
    assert.doesNotMatch(skipped.metrics, /last_success_timestamp/, "no backup of its own yet");

    const leader = fs.mkdtempSync(path.join(tmp, "run-"));
    const snap = etcdSnapshot(Buffer.alloc(20480, 7));
    const taken = runBackup(leader, { leader: "111", snapshot: snap });
    assert.equal(taken.status, 0, taken.out);
    const [name] = fs.readdirSync(path.join(leader, "store", "hourly")).filter((f) => f.endsWith(".db"));
    assert.match(name, /^\d{8}T\d{6}Z-rev42\.db$/);
    assert.deepEqual(fs.readFileSync(path.join(leader, "store", "hourly", name)), snap);
    assert.equal(fs.readFileSync(path.join(leader, "store", "hourly", `${name}.sha256`), "utf8"), `${sha256(snap)}  ${name}\n`);
    const record = fs.readFileSync(path.join(leader, "state", "last-success"), "utf8");
    assert.match(record, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ dev/etcd-cluster-dev-0123456789abcdef/hourly/${name} revision=42 sha256=${sha256(snap)}\\n$`));
    assert.match(taken.metrics, new RegExp(`^etcd_backup_last_success_timestamp_seconds\\{stack="dev"\\} ${Date.parse(record.split(" ")[0]) / 1000}$`, "m"));
    assert.deepEqual(fs.readdirSync(path.join(leader, "state")).sort(), ["last-success"], "the work directory is gone");

    const corrupt = Buffer.from(snap);
    corrupt[100] ^= 0xff;
    const torn = runBackup(leader, { leader: "111", snapshot: corrupt });
    assert.notEqual(torn.status, 0);
    assert.match(torn.out, /fails etcd's own SHA-256 check: it is corrupt[\s\S]*backup FAILED/);
    assert.match(torn.metrics, /^etcd_backup_last_run_success\{stack="dev"\} 0$/m);
    assert.match(torn.metrics, /^etcd_backup_last_success_timestamp_seconds/m, "the last success stays visible");
    assert.equal(fs.readdirSync(path.join(leader, "store", "hourly")).length, 2, "nothing new reached the store");

    const empty = runBackup(fs.mkdtempSync(path.join(tmp, "run-")), { leader: "111", snapshot: snap, revision: 0 });
    assert.notEqual(empty.status, 0);
    assert.match(empty.out, /not a usable etcd database \(revision '0'/);
    assert.match(runBackup(fs.mkdtempSync(path.join(tmp, "run-")), { leader: "0", snapshot: snap }).out, /sees no leader: no member can take a backup/);
});

test("with backup on gcp: the members' instances carry the write-only service account and upload to the stack's bucket", () => {
    const run = runProgram(gcpConfig(3, {}, { backup: { schedule: "hourly" } }));
    assert.equal(run.error, undefined);
    const account = byType(run, "gcp:serviceaccount/account:Account")[0];
    for (const instance of byType(run, "gcp:compute/instance:Instance")) {
        assert.equal((instance.inputs.serviceAccount as Record<string, unknown>).email, `${account.name}@etcd-test.iam.gserviceaccount.com`, instance.name);
    }
    assert.match(String(named(run, "etcd-1-backup").inputs.create), /storage\.googleapis\.com\/etcd-dev-backups-20261123/);
});
