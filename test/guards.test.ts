/**
 * The guard scripts' decisions, run for real by bash without root: a scratch directory stands in for the host (unit,
 * environment, data and WAL dirs, CA, recipe), and fake `etcd`, `etcdctl` and `systemctl` say which versions run.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CaRecipe, HostPaths, renderPreflightScript, renderTrustScript } from "../components/scripts/guards";

const RECIPE: CaRecipe = { keyAlgorithm: "ECDSA-P256", stack: "prod", caValidityDays: 3650 };
const CA = "-----BEGIN CERTIFICATE-----\nTHE CLUSTER CA\n-----END CERTIFICATE-----\n";

interface HostState {
    /** etcd version the installed unit starts; none: a fresh host. */
    unitVersion?: string;
    holdsData?: boolean;
    active?: boolean;
    /** What `etcdctl endpoint status --cluster` reports, one version per member. */
    clusterVersions?: string[];
    dataDir?: string;
    walDir?: string;
    recipe?: CaRecipe;
    ca?: string;
}

interface Host { dir: string; paths: HostPaths; dataDir: string; walDir: string; env: NodeJS.ProcessEnv }

function executable(file: string, body: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `#!/bin/sh\n${body}`, { mode: 0o755 });
}

/** A scratch host in the state `s`: the layout the program writes, with data where `holdsData` says. */
function fakeHost(s: HostState): Host {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-guards-"));
    const at = (p: string) => path.join(dir, p);
    const dataDir = at(s.dataDir ?? "var/lib/etcd");
    const walDir = at(s.walDir ?? "var/lib/etcd-wal");
    const paths: HostPaths = {
        unitFile: at("etc/systemd/system/etcd.service"), envFile: at("etc/etcd/etcd.env"), caFile: at("etc/etcd/pki/ca.crt"),
        serverCert: at("etc/etcd/pki/server.crt"), serverKey: at("etc/etcd/pki/server.key"), stateDir: at("var/lib/etcd-cluster"),
        caRecipe: at("var/lib/etcd-cluster/ca-recipe"),
    };
    executable(at("bin/systemctl"), `[ "$1 $2 $3" = "is-active --quiet etcd.service" ] && exit ${s.active ? 0 : 3}\necho "unexpected systemctl $*" >&2; exit 1\n`);
    if (s.unitVersion) {
        const bin = at(`opt/etcd/v${s.unitVersion}`);
        executable(`${bin}/etcd`, `echo "etcd Version: ${s.unitVersion}"\necho "Git SHA: fake"\n`);
        const status = (s.clusterVersions ?? []).map((v, i) => `"ClusterID" : 1\n"Version" : "${v}"\n"Errors" : []\n"Endpoint" : "https://10.0.0.${i + 1}:2379"\n`).join("\n");
        executable(`${bin}/etcdctl`, `case "$*" in *"endpoint status --cluster -w fields"*) cat <<'EOF'\n${status}EOF\n;; *) echo "unexpected etcdctl $*" >&2; exit 1 ;; esac\n`);
        fs.mkdirSync(path.dirname(paths.unitFile), { recursive: true });
        fs.writeFileSync(paths.unitFile, `[Service]\nExecStart=${bin}/etcd --data-dir=${dataDir}\n`);
        fs.mkdirSync(path.dirname(paths.envFile), { recursive: true });
        fs.writeFileSync(paths.envFile, `ETCD_NAME=etcd-1\nETCD_WAL_DIR=${walDir}/wal\n`);
    }
    if (s.holdsData) {
        fs.mkdirSync(path.join(dataDir, "member", "snap"), { recursive: true });
        fs.mkdirSync(path.join(walDir, "wal"), { recursive: true });
        fs.writeFileSync(path.join(walDir, "wal", "0000000000000000-0000000000000000.wal"), "wal");
    }
    if (s.recipe) {
        fs.mkdirSync(paths.stateDir, { recursive: true });
        fs.writeFileSync(paths.caRecipe, `KEY_ALGORITHM=${s.recipe.keyAlgorithm}\nSTACK=${s.recipe.stack}\nCA_VALIDITY_DAYS=${s.recipe.caValidityDays}\n`);
    }
    if (s.ca) {
        fs.mkdirSync(path.dirname(paths.caFile), { recursive: true });
        fs.writeFileSync(paths.caFile, s.ca);
    }
    return { dir, paths, dataDir, walDir, env: { ...process.env, PATH: `${at("bin")}:${process.env.PATH}` } };
}

function run(host: Host, script: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: host.env });
    fs.rmSync(host.dir, { recursive: true, force: true });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** A running member of a cluster that runs `running` everywhere, asked to go to `target`. */
function preflight(s: HostState & { target?: string; newDataDir?: string; newWalDir?: string; newRecipe?: CaRecipe }) {
    const host = fakeHost({ holdsData: true, active: true, recipe: RECIPE, ...s });
    return run(host, renderPreflightScript({
        memberName: "etcd-1", etcdVersion: s.target ?? s.unitVersion ?? "3.5.30", paths: host.paths,
        dataDir: s.newDataDir ? path.join(host.dir, s.newDataDir) : host.dataDir,
        walDir: s.newWalDir ? path.join(host.dir, s.newWalDir) : host.walDir,
        recipe: s.newRecipe ?? RECIPE,
    }));
}

const running = (version: string): HostState => ({ unitVersion: version, clusterVersions: [version, version, version] });

test("a fresh host, and a member with nothing to change, pass the preflight", () => {
    const fresh = preflight({ holdsData: false, active: false, recipe: undefined, target: "3.6.14" });
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.match(fresh.stdout, /holds no data yet/);
    const same = preflight(running("3.5.30"));
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /preflight passed \(runs: 3\.5\.30 target 3\.5\.30\)/);
});

test("patch and next-minor upgrades pass; a cluster half way through an upgrade may finish it", () => {
    for (const [from, to] of [["3.5.16", "3.5.30"], ["3.5.33", "3.6.14"], ["3.6.11", "3.7.1"]]) {
        const r = preflight({ ...running(from), target: to });
        assert.equal(r.status, 0, `${from} -> ${to}: ${r.stderr}`);
    }
    const half = preflight({ unitVersion: "3.5.16", clusterVersions: ["3.5.30", "3.5.16", "3.5.16"], target: "3.5.30" });
    assert.equal(half.status, 0, half.stderr);
});

test("a downgrade is refused, naming the running and the requested version and what to do", () => {
    const r = preflight({ ...running("3.5.30"), target: "3.5.16" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^etcd-1: refused before anything changed/);
    assert.match(r.stderr, /etcd-cluster:etcdVersion: changing it from 3\.5\.30 \(run by etcd-1's installed binary, https:\/\/10\.0\.0\.1:2379, https:\/\/10\.0\.0\.2:2379, https:\/\/10\.0\.0\.3:2379\) to 3\.5\.16 is refused: it is a downgrade/);
    assert.match(r.stderr, /Set etcd-cluster:etcdVersion to 3\.5\.30 or later/);
});

test("a downgrade is refused when only another member, seen through the cluster, runs the newer version", () => {
    const r = preflight({ unitVersion: "3.5.16", clusterVersions: ["3.5.16", "3.5.30", "3.5.16"], target: "3.5.16" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /from 3\.5\.30 \(run by https:\/\/10\.0\.0\.2:2379\) to 3\.5\.16 is refused: it is a downgrade/);
});

test("a stopped member's own binary counts: a downgrade is refused even when etcd is not running", () => {
    const r = preflight({ ...running("3.6.14"), active: false, target: "3.5.33" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /from 3\.6\.14 \(run by etcd-1's installed binary\) to 3\.5\.33 is refused: it is a downgrade/);
});

test("skipping a minor version is refused, with the release to go to first", () => {
    const r = preflight({ ...running("3.5.33"), target: "3.7.1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /from 3\.5\.33 .* to 3\.7\.1 is refused: it skips a minor version.*Set etcd-cluster:etcdVersion to 3\.6\.14 first/);
});

test("3.5 to 3.6 is refused from a 3.5 older than etcd's upgrade guide requires (3.5.32)", () => {
    const r = preflight({ ...running("3.5.30"), target: "3.6.14" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /from 3\.5\.30 .* to 3\.6\.14 is refused: etcd's upgrade guide requires every 3\.5 member to run 3\.5\.32 or later before 3\.6\. Set etcd-cluster:etcdVersion to 3\.5\.33 first/);
    const ok = preflight({ ...running("3.5.32"), target: "3.6.14" });
    assert.equal(ok.status, 0, ok.stderr);
});

test("moving the data dir or the WAL of a member that holds data is refused; of one that holds none, allowed", () => {
    const data = preflight({ ...running("3.5.30"), newDataDir: "data/etcd" });
    assert.equal(data.status, 1);
    assert.match(data.stderr, /etcd-cluster:dataDir: changing it from ".*\/var\/lib\/etcd" to ".*\/data\/etcd" is refused: etcd-1 holds data in .*\/var\/lib\/etcd\/member.*Set etcd-cluster:dataDir back to ".*\/var\/lib\/etcd"/);
    const wal = preflight({ ...running("3.5.30"), newWalDir: "data/wal" });
    assert.equal(wal.status, 1);
    assert.match(wal.stderr, /etcd-cluster:walDir: changing it from ".*\/var\/lib\/etcd-wal" to ".*\/data\/wal" is refused: .*Set etcd-cluster:walDir back to/);
    const empty = preflight({ ...running("3.5.30"), holdsData: false, active: false, newDataDir: "data/etcd", newWalDir: "data/wal" });
    assert.equal(empty.status, 0, empty.stderr);
});

test("a change of what the CA is made from is refused on a member that holds data: key algorithm, stack, CA validity", () => {
    const cases: Array<[Partial<CaRecipe>, RegExp]> = [
        [{ keyAlgorithm: "RSA-2048" }, /etcd-cluster:keyAlgorithm: changing it from ECDSA-P256 to RSA-2048 is refused: it would replace the CA of this running cluster.*Set etcd-cluster:keyAlgorithm back to ECDSA-P256/],
        [{ stack: "prod2" }, /stack name: this cluster's CA was made for stack prod, this is stack prod2.*pulumi stack rename prod/],
        [{ caValidityDays: 7300 }, /etcd-cluster:caValidityDays: changing it from 3650 to 7300 is refused.*back to 3650/],
    ];
    for (const [change, message] of cases) {
        const r = preflight({ ...running("3.5.30"), newRecipe: { ...RECIPE, ...change } });
        assert.equal(r.status, 1, JSON.stringify(change));
        assert.match(r.stderr, message);
    }
    const fresh = preflight({ ...running("3.5.30"), holdsData: false, active: false, newRecipe: { ...RECIPE, keyAlgorithm: "RSA-2048" } });
    assert.equal(fresh.status, 0, fresh.stderr);
});

test("every problem is reported at once", () => {
    const r = preflight({ ...running("3.5.30"), target: "3.5.16", newDataDir: "data/etcd", newRecipe: { ...RECIPE, keyAlgorithm: "RSA-4096" } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\(3 problem\(s\)\)/);
});

function trust(s: HostState & { incoming: string }) {
    const host = fakeHost(s);
    const recipeFile = host.paths.caRecipe;
    const script = renderTrustScript({ memberName: "etcd-1", dataDir: host.dataDir, recipe: RECIPE, caCertificate: s.incoming, paths: host.paths });
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: host.env });
    const recorded = fs.existsSync(recipeFile) ? fs.readFileSync(recipeFile, "utf8") : undefined;
    fs.rmSync(host.dir, { recursive: true, force: true });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, recorded };
}

test("a member that holds data is refused a CA other than the one it trusts, and nothing is recorded", () => {
    const r = trust({ unitVersion: "3.5.30", holdsData: true, ca: CA, incoming: CA.replace("THE CLUSTER CA", "ANOTHER CA") });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the cluster's CA: etcd-1 holds data and trusts the CA in .*ca\.crt, but a different CA would be installed/);
    assert.equal(r.recorded, undefined);
});

test("the CA a member trusts passes, and what it is made from is recorded for later preflights", () => {
    for (const s of [{ unitVersion: "3.5.30", holdsData: true, ca: CA }, { holdsData: false }]) {
        const r = trust({ ...s, incoming: CA });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.recorded, "KEY_ALGORITHM=ECDSA-P256\nSTACK=prod\nCA_VALIDITY_DAYS=3650\n");
    }
    const fresh = trust({ holdsData: false, ca: CA, incoming: CA.replace("THE CLUSTER CA", "A NEW CA") });
    assert.equal(fresh.status, 0, "a member without data may take a new CA");
});
