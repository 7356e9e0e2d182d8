// The root filesystem every lab host boots from: a minimal Debian with systemd and sshd, built once and cached.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync, readdirSync, renameSync, writeFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { run } from "./hosts-run";
import { debianMirror } from "./image-mirror";

const SUITE = "bookworm";
// curl: the program's download install path fetches releases with it (the lab tests it against a local mirror).
// fio: the preflight check measures the WAL disk's fdatasync latency with it.
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "ca-certificates", "procps", "curl", "fio"];

// Units that wait for things a container never has (a console, online networking) or that would do background
// work (apt timers, disk maintenance) that only adds noise to a test.
const MASKED_UNITS = [
    "console-getty.service",
    "container-getty@.service",
    "getty@.service",
    "getty-static.service",
    "serial-getty@.service",
    "systemd-networkd-wait-online.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
];

// Keys only: the lab's one key pair is the way in.
const SSHD_CONFIG = ["PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UseDNS no", ""].join("\n");

function configure(root: string): void {
    writeFileSync(join(root, "etc/ssh/sshd_config.d/lab.conf"), SSHD_CONFIG);
    for (const unit of MASKED_UNITS) {
        const link = join(root, "etc/systemd/system", unit);
        rmSync(link, { force: true });
        symlinkSync("/dev/null", link);
    }
    // Each host writes its own hostname and machine id into its overlay; the image's would be the build machine's.
    writeFileSync(join(root, "etc/hostname"), "localhost\n");
}

// Returns the cached rootfs, building it first if needed. The build goes to a temporary directory that is renamed
// only on success, so an interrupted build is never used.
export async function ensureImage(cacheDir: string): Promise<{ rootfs: string; cached: boolean }> {
    // Named after what goes into it, so a changed recipe builds a new image instead of reusing a stale one.
    const recipe = createHash("sha256").update(JSON.stringify([SUITE, PACKAGES, MASKED_UNITS, SSHD_CONFIG])).digest("hex").slice(0, 12);
    const rootfs = join(cacheDir, `rootfs-${recipe}`);
    if (existsSync(rootfs)) return { rootfs, cached: true };
    mkdirSync(cacheDir, { recursive: true });
    for (const stale of readdirSync(cacheDir)) if (stale.startsWith("rootfs.tmp-")) rmSync(join(cacheDir, stale), { recursive: true, force: true });
    const tmp = join(cacheDir, `rootfs.tmp-${process.pid}`);
    // fio brings python3 and the ceph client libraries: on a loaded 2-core machine the build has taken over 15 minutes.
    await run("debootstrap", ["--variant=minbase", `--include=${PACKAGES.join(",")}`, SUITE, tmp, debianMirror()], { timeoutMs: 60 * 60_000 });
    configure(tmp);
    renameSync(tmp, rootfs);
    return { rootfs, cached: false };
}
