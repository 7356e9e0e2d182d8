// A host's root filesystem: an overlay of the shared image (read-only lower layer) and the host's own upper layer,
// so hosts share one image and each keeps its own changes.
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { run } from "./hosts-run";

export interface HostFiles { hostname: string; etcHosts: string; authorizedKey: string; }

export async function mountOverlay(rootfs: string, hostDir: string): Promise<string> {
    const merged = join(hostDir, "merged");
    for (const d of ["upper", "work", "merged"]) mkdirSync(join(hostDir, d), { recursive: true });
    await run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${rootfs},upperdir=${join(hostDir, "upper")},workdir=${join(hostDir, "work")}`, merged]);
    return merged;
}

// Written through the merged view so the files land in the upper layer with the image's directory modes. Each host
// gets an SSH host key of its own (the image's would be shared by every host); returns its public key line.
export async function writeHostFiles(merged: string, files: HostFiles): Promise<string> {
    writeFileSync(join(merged, "etc/hostname"), `${files.hostname}\n`);
    writeFileSync(join(merged, "etc/hosts"), files.etcHosts);
    // Distinct machine ids keep journald and anything keyed on them apart between hosts.
    writeFileSync(join(merged, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
    const ssh = join(merged, "root/.ssh");
    mkdirSync(ssh, { recursive: true, mode: 0o700 });
    chmodSync(ssh, 0o700);
    writeFileSync(join(ssh, "authorized_keys"), files.authorizedKey, { mode: 0o600 });
    chmodSync(join(ssh, "authorized_keys"), 0o600);
    // The image carries cloud-init for the hosts that play cloud instances (cloud-machine.ts). On a plain host it
    // would still run (ds-identify enables the one datasource listed) and replace the host keys written below.
    writeFileSync(join(merged, "etc/cloud/cloud-init.disabled"), "");
    const sshd = join(merged, "etc/ssh");
    for (const f of readdirSync(sshd).filter((n) => n.startsWith("ssh_host_"))) rmSync(join(sshd, f));
    const hostKey = join(sshd, "ssh_host_ed25519_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", files.hostname, "-f", hostKey]);
    writeFileSync(join(sshd, "sshd_config.d/host-key.conf"), "HostKey /etc/ssh/ssh_host_ed25519_key\n");
    return readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
}

// Mount points in /proc/self/mountinfo escape space, tab, newline and backslash as octal.
function unescapeMountPath(p: string): string {
    return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function mountsUnder(dir: string): string[] {
    return readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => unescapeMountPath(l.split(" ")[4]))
        .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

export async function unmount(path: string): Promise<void> {
    await run("umount", [path]);
}
