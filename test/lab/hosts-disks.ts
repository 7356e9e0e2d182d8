// A lab host's data and WAL disks: sparse files on this machine attached as loop devices and bound into the host's
// container as /dev/vdb and /dev/vdc, as a cloud machine's attached volumes appear. The container has no udev, so a
// unit made at boot creates the /dev/disk links udev would (by-id names for the disks, by-uuid for filesystems on
// them, which fstab's UUID= entries need at boot). The files outlive a rebuild of the host (its disks are kept);
// labKill and labDown detach and delete them.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./hosts-run";

export const LAB_DISKS = [
    { role: "data", device: "/dev/vdb", size: "4G" },
    { role: "wal", device: "/dev/vdc", size: "1G" },
] as const;
export type LabDiskRole = (typeof LAB_DISKS)[number]["role"];

/** The stable path the program is given, as a cloud's by-id name would be. */
export function labDiskLink(role: LabDiskRole): string {
    return `/dev/disk/by-id/virtio-lab-${role}`;
}

export function labDiskFile(dir: string, host: string, role: LabDiskRole): string {
    return join(dir, "disks", `${host}-${role}.img`);
}

async function attachedLoops(file: string): Promise<string[]> {
    const out = await run("losetup", ["-j", file]);
    return out.split("\n").filter(Boolean).map((l) => l.slice(0, l.indexOf(":")));
}

/** Makes (if missing) and attaches the host's disk files; returns the nspawn arguments that bind them in. */
export async function attachHostDisks(dir: string, host: string): Promise<string[]> {
    mkdirSync(join(dir, "disks"), { recursive: true, mode: 0o700 });
    const binds: string[] = [];
    for (const d of LAB_DISKS) {
        const file = labDiskFile(dir, host, d.role);
        if (!existsSync(file)) await run("truncate", ["-s", d.size, file]);
        const loop = (await attachedLoops(file))[0] ?? (await run("losetup", ["--find", "--show", file])).trim();
        binds.push(`--bind=${loop}:${d.device}`);
    }
    return binds;
}

/** Detaches the loop devices of the given disk files (all of the lab's when no host is named) and deletes the files. */
export async function destroyDisks(dir: string, host?: string): Promise<void> {
    const disksDir = join(dir, "disks");
    if (!existsSync(disksDir)) return;
    for (const f of readdirSync(disksDir).filter((f) => host === undefined || f.startsWith(`${host}-`))) {
        const file = join(disksDir, f);
        for (const loop of await attachedLoops(file)) await run("losetup", ["-d", loop]);
        rmSync(file, { force: true });
    }
    if (host === undefined) rmSync(disksDir, { recursive: true, force: true });
}

const LINKS_SCRIPT = "/usr/local/sbin/lab-disk-links";
const LINKS_UNIT = "lab-disk-links.service";

/** Installs, in the host's root, the boot-time unit that makes the /dev/disk links. */
export function writeDiskLinksUnit(merged: string): void {
    const links = LAB_DISKS.map((d) => `ln -sfn ../../${d.device.slice(5)} ${labDiskLink(d.role)}`).join("\n");
    writeFileSync(join(merged, LINKS_SCRIPT), `#!/bin/sh
# Lab only: the links udev would make for the disks bound in as ${LAB_DISKS.map((d) => d.device).join(" and ")}.
mkdir -p /dev/disk/by-id /dev/disk/by-uuid
${links}
for dev in ${LAB_DISKS.map((d) => d.device).join(" ")}; do
  uuid=$(blkid -p -s UUID -o value "$dev" || true)
  if [ -n "$uuid" ]; then ln -sfn "../..\${dev#/dev}" "/dev/disk/by-uuid/$uuid"; fi
done
`);
    chmodSync(join(merged, LINKS_SCRIPT), 0o755);
    writeFileSync(join(merged, "etc/systemd/system", LINKS_UNIT), `[Unit]
Description=Lab: /dev/disk links for the bound-in disks (no udev in a container)
DefaultDependencies=no
Before=local-fs-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${LINKS_SCRIPT}

[Install]
WantedBy=local-fs-pre.target
`);
    const wants = join(merged, "etc/systemd/system/local-fs-pre.target.wants");
    mkdirSync(wants, { recursive: true });
    rmSync(join(wants, LINKS_UNIT), { force: true });
    symlinkSync(`../${LINKS_UNIT}`, join(wants, LINKS_UNIT));
}
