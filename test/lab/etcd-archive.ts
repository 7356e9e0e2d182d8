// An etcd release tarball in the official layout (etcd-vX.Y.Z-linux-amd64/{etcd,etcdctl,etcdutl}), made from
// Debian's etcd packages because the lab can reach Debian mirrors but not GitHub releases. Each Debian suite ships
// one etcd version (trixie 3.5.16, sid 3.5.30 in late 2026): two real versions for upgrade tests.
import { copyFileSync, chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./hosts-run";
import { debianMirror } from "./image-mirror";

/** The suite whose etcd the lab deploys unless a test asks for another. */
export const DEFAULT_SUITE = "sid";
const PACKAGES = ["etcd-server", "etcd-client"];
const BINARIES = ["etcd", "etcdctl", "etcdutl"];
const ARCHIVE_NAME = /^etcd-v(\d+\.\d+\.\d+)-linux-amd64\.tar\.gz$/;

export interface EtcdArchive { path: string; version: string; cached: boolean; }

// apt with its own sources, lists and cache under `root`: the machine's apt configuration and state stay untouched.
function aptOptions(root: string): string[] {
    return [
        `Dir::Etc::SourceList=${join(root, "sources.list")}`,
        "Dir::Etc::SourceParts=/dev/null",
        "Dir::Etc::Preferences=/dev/null",
        "Dir::Etc::PreferencesParts=/dev/null",
        `Dir::State::Lists=${join(root, "lists")}`,
        `Dir::Cache=${join(root, "cache")}`,
        // Downloads land in a root-owned directory that apt's unprivileged _apt user cannot write.
        "APT::Sandbox::User=root",
    ].flatMap((o) => ["-o", o]);
}

// "3.5.30-2" or "1:3.5.30+dfsg-1" -> "3.5.30"
function upstreamVersion(debVersion: string): string {
    const m = /^(?:\d+:)?(\d+\.\d+\.\d+)/.exec(debVersion.trim());
    if (!m) throw new Error(`cannot read an etcd version from Debian package version "${debVersion.trim()}" (expected e.g. 3.5.30-2)`);
    return m[1];
}

// One directory per suite: the suite is all a caller knows before the package index says which version it ships.
function suiteCacheDir(cacheDir: string, suite: string): string {
    if (!/^[a-z][a-z0-9-]*$/.test(suite)) throw new Error(`Debian suite "${suite}": expected a suite name such as trixie or sid`);
    return join(cacheDir, `etcd-archive-${suite}`);
}

function cachedArchive(cacheDir: string): EtcdArchive | undefined {
    if (!existsSync(cacheDir)) return undefined;
    for (const f of readdirSync(cacheDir)) {
        const m = ARCHIVE_NAME.exec(f);
        if (m) return { path: join(cacheDir, f), version: m[1], cached: true };
    }
    return undefined;
}

/** The release tarball of the etcd that Debian `suite` ships, built once and cached per suite. */
export async function ensureEtcdArchive(cache: string, suite = DEFAULT_SUITE): Promise<EtcdArchive> {
    const cacheDir = suiteCacheDir(cache, suite);
    mkdirSync(cacheDir, { recursive: true });
    const cached = cachedArchive(cacheDir);
    if (cached) return cached;
    const work = join(cacheDir, `etcd-build.tmp-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    for (const d of ["lists/partial", "cache/archives/partial", "debs", "unpacked"]) mkdirSync(join(work, d), { recursive: true });
    try {
        writeFileSync(join(work, "sources.list"), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${debianMirror()} ${suite} main\n`);
        const apt = aptOptions(work);
        await run("apt-get", [...apt, "update"], { timeoutMs: 5 * 60_000 });
        await run("apt-get", [...apt, "download", ...PACKAGES], { cwd: join(work, "debs"), timeoutMs: 5 * 60_000 });
        const debs = readdirSync(join(work, "debs")).filter((f) => f.endsWith(".deb"));
        for (const deb of debs) await run("dpkg-deb", ["-x", join(work, "debs", deb), join(work, "unpacked")]);
        const serverDeb = debs.find((f) => f.startsWith("etcd-server_"));
        if (!serverDeb) throw new Error(`apt-get download etcd-server from ${suite} gave no package`);
        const version = upstreamVersion(await run("dpkg-deb", ["-f", join(work, "debs", serverDeb), "Version"]));

        const top = `etcd-v${version}-linux-amd64`;
        const stage = join(work, "stage", top);
        mkdirSync(stage, { recursive: true });
        for (const bin of BINARIES) {
            const src = join(work, "unpacked/usr/bin", bin);
            if (!existsSync(src)) {
                if (bin === "etcdutl") continue; // only 3.5+ packages ship it
                throw new Error(`${bin} not found in Debian's ${PACKAGES.join("/")} ${version} (looked in /usr/bin)`);
            }
            copyFileSync(src, join(stage, bin));
            chmodSync(join(stage, bin), 0o755);
        }
        // A package whose binary reports another version would make every version check in the tests lie.
        const reported = await run(join(stage, "etcd"), ["--version"]);
        if (!reported.includes(`etcd Version: ${version}`)) throw new Error(`package says etcd ${version} but the binary reports:\n${reported}`);

        const path = join(cacheDir, `${top}.tar.gz`);
        const tmp = join(work, `${top}.tar.gz`);
        await run("tar", ["-czf", tmp, "--owner=0", "--group=0", "-C", join(work, "stage"), top]);
        renameSync(tmp, path);
        return { path, version, cached: false };
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}
