// The root filesystem every lab host boots from: a minimal Debian with systemd and sshd, built once and cached.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync, readdirSync, renameSync, writeFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { run } from "./hosts-run";
import { debianMirror } from "./image-mirror";

const SUITE = "bookworm";
// curl: the program's download install path fetches releases with it (the lab tests it against a local mirror).
// fio: the preflight check measures the WAL disk's fdatasync latency with it.
// cloud-init and sudo: hosts that play cloud instances (cloud-machine.ts) get their user data, login key and host key
// through cloud-init, and log in as a user with passwordless sudo, as on a cloud image. Hosts without a NoCloud seed
// leave cloud-init off (its generator finds no datasource). python3-cffi-backend: cloud-init needs python3-cryptography,
// which depends on virtual packages only python3-cffi-backend provides, and debootstrap's resolver does not follow
// virtual packages (without it the build fails configuring python3-cryptography; seen with bookworm).
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "ca-certificates", "procps", "curl", "fio", "cloud-init", "python3-cffi-backend", "sudo"];

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

// cloud-init as a cloud image sets it up: the NoCloud seed is the only datasource (no metadata service to probe), the
// lab makes the network (the interface's namespace), and the login user is `admin` with passwordless sudo, as on
// Debian's cloud images.
const CLOUD_INIT_CONFIG = [
    "datasource_list: [ NoCloud ]",
    "network: { config: disabled }",
    "system_info:",
    "  default_user:",
    "    name: admin",
    "    lock_passwd: true",
    "    gecos: Cloud login user",
    "    groups: [sudo]",
    "    sudo: [\"ALL=(ALL) NOPASSWD:ALL\"]",
    "    shell: /bin/bash",
    "",
].join("\n");

// Keys only: the lab's one key pair is the way in.
const SSHD_CONFIG = ["PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UseDNS no", ""].join("\n");

function configure(root: string): void {
    writeFileSync(join(root, "etc/ssh/sshd_config.d/lab.conf"), SSHD_CONFIG);
    writeFileSync(join(root, "etc/cloud/cloud.cfg.d/90-lab.cfg"), CLOUD_INIT_CONFIG);
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
    const recipe = createHash("sha256").update(JSON.stringify([SUITE, PACKAGES, MASKED_UNITS, SSHD_CONFIG, CLOUD_INIT_CONFIG])).digest("hex").slice(0, 12);
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
