// What a cloud's resources become on this machine, the same for every cloud the lab plays:
// - a network interface is a lab network namespace holding its address on the lab bridge; it outlives instances;
// - the firewall rules that apply to an interface become one nftables table in its namespace (cloud-firewall.ts; each
//   cloud adapter says which rules apply and in which order);
// - an instance is a lab host (systemd-nspawn) booted in its interface's namespace from the lab image, with a fresh
//   root of its own, that gets its user data and SSH keys the way cloud images do: cloud-init reads them from a NoCloud
//   seed (/var/lib/cloud/seed/nocloud, cloud-init's "NoCloud" datasource), which here stands in for the cloud's
//   metadata service;
// - a disk is a sparse file; attached, it is a loop device whose node the lab creates inside the running instance's
//   /dev under the name the cloud's guest sees, with the /dev/disk/by-id link udev would make (containers have no
//   udev). The cloud adapter says which names those are.
// Runs in the lab runtime's process, which is in the lab namespace for the network only (nsenter --net), so mounts,
// cgroups and other namespaces are the machine's own, as for labUp.

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CloudAccount, CloudDisk, CloudInstance, CloudInterface, CloudStore } from "./cloud-store";
import { createHostCgroups } from "./hosts-cgroup";
import { haltHost, hostDir } from "./hosts-host";
import { readState } from "./hosts-state";
import { boot, isRunning } from "./hosts-nspawn";
import { mountOverlay, mountsUnder } from "./hosts-overlay";
import { run, tryRun } from "./hosts-run";
import { ensureImage } from "./image";
import { labCacheDir, labDir } from "./lab-id";
import { assertIsolated, createHostNetns, deleteNetns, hostAddress, hostNetns, labNamespaces, netnsPids } from "./netns";

/** Where a disk appears in the guest: its device node and the /dev/disk links pointing at it. */
export interface GuestDevice { node: string; links: string[] }

export async function createInterface(host: string, address: string): Promise<void> {
    await createHostNetns(host, address);
    await assertIsolated(hostNetns(host));
}

export async function deleteInterface(host: string): Promise<void> {
    if ((await labNamespaces()).includes(hostNetns(host))) await deleteNetns(hostNetns(host));
}

/**
 * Loads each of the cloud's interfaces' packet filters into its namespace (`rulesetOf` renders it, see
 * cloud-firewall.ts). Called after any change to firewalls, interfaces or instances: a rule naming a group or tag
 * follows the addresses of what is in it.
 */
export function syncFirewalls(account: CloudAccount, cloud: CloudInterface["cloud"], rulesetOf: (nic: CloudInterface) => string): void {
    // An interface whose namespace is still being made loads its rules once it is there.
    for (const nic of Object.values(account.interfaces).filter((i) => i.cloud === cloud && existsSync(`/run/netns/${hostNetns(i.host)}`))) {
        const ruleset = rulesetOf(nic);
        const load = spawnSync("ip", ["netns", "exec", hostNetns(nic.host), "nft", "-f", "-"], { input: ruleset, encoding: "utf8" });
        if (load.status !== 0) throw new Error(`nft refused the firewall of ${nic.id}: ${load.stderr}\n${ruleset}`);
    }
}

/** The first address of the lab's /24 (every subnet the lab knows is that /24) that no interface and no lab host holds. */
export function freeAddress(account: CloudAccount, kind: string): string {
    const taken = new Set([...Object.values(account.interfaces).map((i) => i.address), ...(readState(labDir())?.hosts.map((h) => h.address) ?? [])]);
    for (let i = 1; i <= 200; i++) if (!taken.has(hostAddress(i))) return hostAddress(i);
    throw new Error(`${kind}: the lab's subnet is full`);
}

/**
 * Records an interface (its address taken before any other call can pick it) and makes its namespace, named after
 * `id` (the veth is ve-<host>: at most 15 characters). A failure leaves nothing behind.
 */
export async function openInterface(s: CloudStore, nic: Omit<CloudInterface, "host">, load: () => void): Promise<CloudInterface> {
    const record: CloudInterface = { ...nic, host: `${nic.cloud === "ec2" ? "eni" : "gce"}-${createHash("sha256").update(nic.id).digest("hex").slice(0, 8)}` };
    s.account.interfaces[nic.id] = record;
    await s.save();
    try {
        await createInterface(record.host, record.address);
        load();
    } catch (err) {
        await deleteInterface(record.host);
        delete s.account.interfaces[nic.id];
        await s.save();
        throw err;
    }
    return record;
}

/** Removes an interface no instance uses; `inUse` is the cloud's error. */
export async function closeInterface(s: CloudStore, id: string, inUse: (instance: string) => string): Promise<void> {
    const nic = s.get("interfaces", id);
    if (nic.instance) throw new Error(inUse(nic.instance));
    await deleteInterface(nic.host);
    delete s.account.interfaces[id];
    await s.save();
}

/** Where a cloud's guest sees an attached disk (the cloud adapter's naming). */
export type DeviceOf = (instance: CloudInstance, disk: CloudDisk) => GuestDevice;

/** The disks attached to an instance, in attachment slot order. */
export function attachedTo(s: CloudStore, instance: string): CloudDisk[] {
    return Object.values(s.account.disks).filter((d) => d.attachment?.instance === instance)
        .sort((a, b) => a.attachment!.slot - b.attachment!.slot);
}

/** The first attachment slot (from 1; the root disk is before them) no disk of the instance holds. */
export function freeSlot(s: CloudStore, instance: string): number {
    const used = new Set(attachedTo(s, instance).map((d) => d.attachment!.slot));
    let slot = 1;
    while (used.has(slot)) slot++;
    return slot;
}

/** Boots the instance (see bootInstance) and plugs in every disk attached to it. */
export async function startInstance(s: CloudStore, instance: CloudInstance, seed: BootSeed, fresh: boolean, deviceOf: DeviceOf): Promise<void> {
    const nic = s.get("interfaces", instance.interface);
    instance.pid = await bootInstance(instance, nic.host, seed, fresh);
    instance.state = "running";
    await s.save();
    const guest = await guestPid(nic.host, instance.pid);
    for (const disk of attachedTo(s, instance.id)) await plugDisk(nic.host, guest, disk.file, deviceOf(instance, disk));
}

/** Stops the instance cleanly; its root and its disks' attachments stay. */
export async function stopInstance(s: CloudStore, instance: CloudInstance, deviceOf: DeviceOf, log: (line: string) => void): Promise<void> {
    const nic = s.get("interfaces", instance.interface);
    await haltInstance(nic.host, instance.pid, log);
    for (const disk of attachedTo(s, instance.id)) await unplugDisk(nic.host, undefined, disk.file, deviceOf(instance, disk));
    instance.state = "stopped";
    instance.pid = undefined;
    await s.save();
}

/** Deletes the instance: its root disk goes with it; attached disks are detached and kept; its interface is free. */
export async function terminateInstance(s: CloudStore, record: CloudInstance, deviceOf: DeviceOf, log: (line: string) => void): Promise<void> {
    const nic = s.get("interfaces", record.interface);
    await haltInstance(nic.host, record.pid, log);
    for (const disk of attachedTo(s, record.id)) {
        await unplugDisk(nic.host, undefined, disk.file, deviceOf(record, disk));
        disk.attachment = undefined;
    }
    deleteRoot(nic.host);
    nic.instance = undefined;
    delete s.account.instances[record.id];
    await s.save();
}

/** Attaches a disk to an instance at the next free slot, plugging it in when the instance runs. */
export async function attachDisk(s: CloudStore, record: CloudInstance, disk: CloudDisk, deviceName: string, deviceOf: DeviceOf): Promise<void> {
    disk.attachment = { instance: record.id, deviceName, slot: freeSlot(s, record.id) };
    await s.save();
    if (record.state !== "running") return;
    const nic = s.get("interfaces", record.interface);
    try {
        await plugDisk(nic.host, await guestPid(nic.host, record.pid!), disk.file, deviceOf(record, disk));
    } catch (err) {
        disk.attachment = undefined;
        await s.save();
        throw err;
    }
}

/** Detaches a disk from its instance, taking it out of the running guest first. */
export async function detachDisk(s: CloudStore, record: CloudInstance, disk: CloudDisk, deviceOf: DeviceOf): Promise<void> {
    if (record.state === "running") {
        const nic = s.get("interfaces", record.interface);
        await unplugDisk(nic.host, await guestPid(nic.host, record.pid!), disk.file, deviceOf(record, disk));
    }
    disk.attachment = undefined;
    await s.save();
}

/** A new disk: a sparse file of its size under the lab's disks directory. */
export async function createDisk(s: CloudStore, disk: Omit<CloudDisk, "file">): Promise<void> {
    const file = join(labDir(), "disks", `${disk.id.replace(/[^A-Za-z0-9_.-]+/g, "_")}.img`);
    await createDiskFile(file, disk.sizeGiB);
    s.account.disks[disk.id] = { ...disk, file };
    await s.save();
}

/** Grows a disk; `smaller` is the cloud's error for a shrink. */
export async function resizeDisk(s: CloudStore, id: string, sizeGiB: number, smaller: (current: number) => string): Promise<void> {
    const disk = s.get("disks", id);
    if (sizeGiB < disk.sizeGiB) throw new Error(smaller(disk.sizeGiB));
    if (sizeGiB > disk.sizeGiB) await growDiskFile(disk.file, sizeGiB);
    disk.sizeGiB = sizeGiB;
    await s.save();
}

/** Deletes a detached disk and its file; `inUse` is the cloud's error for an attached one. */
export async function removeDisk(s: CloudStore, id: string, inUse: (instance: string) => string): Promise<void> {
    const disk = s.get("disks", id);
    if (disk.attachment) throw new Error(inUse(disk.attachment.instance));
    await deleteDiskFile(disk.file);
    delete s.account.disks[id];
    await s.save();
}

export interface BootSeed {
    hostname: string;
    /** NoCloud meta-data (instance-id, local-hostname, public-keys, ...), written as JSON, which YAML reads too. */
    metaData: Record<string, unknown>;
    userData: string;
}

/**
 * Boots the instance in its interface's namespace. A new instance (`fresh`) gets a new root from the image and the
 * seed; a stopped one boots its own root again, with the seed brought up to date (the metadata service would serve
 * the new user data; cloud-init acts on it only for a new instance id). Returns nspawn's PID once the guest's
 * systemd runs, so disks can be plugged in (guestPid).
 */
export async function bootInstance(instance: CloudInstance, host: string, seed: BootSeed, fresh: boolean): Promise<number> {
    const dir = labDir();
    const hd = hostDir(dir, host);
    if (mountsUnder(hd).length > 0) throw new Error(`lab host ${host} is still mounted: is another instance running on interface ${instance.interface}?`);
    if (fresh) rmSync(hd, { recursive: true, force: true });
    const rootfs = (await ensureImage(labCacheDir(dir))).rootfs;
    const merged = await mountOverlay(rootfs, hd);
    if (fresh) {
        writeFileSync(join(merged, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
        writeFileSync(join(merged, "etc/hostname"), `${seed.hostname}\n`);
        // Stands in for the VPC's DNS, which resolves an instance's own name.
        const address = String(seed.metaData["local-ipv4"] ?? "127.0.1.1");
        writeFileSync(join(merged, "etc/hosts"), `127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n${address} ${seed.hostname}\n`);
    }
    const nocloud = join(merged, "var/lib/cloud/seed/nocloud");
    mkdirSync(nocloud, { recursive: true, mode: 0o700 });
    chmodSync(nocloud, 0o700);
    writeFileSync(join(nocloud, "meta-data"), `${JSON.stringify(seed.metaData, null, 2)}\n`, { mode: 0o600 });
    writeFileSync(join(nocloud, "user-data"), seed.userData, { mode: 0o600 });
    const pid = boot({
        name: seed.hostname, machine: hostNetns(host), merged, netnsPath: `/run/netns/${hostNetns(host)}`,
        consoleLog: join(hd, "console.log"), cgroupProcs: createHostCgroups(host),
    });
    await guestPid(host, pid);
    return pid;
}

/** Stops the instance cleanly (its systemd shuts down, so services stop and file systems are unmounted). */
export async function haltInstance(host: string, pid: number | undefined, log: (line: string) => void): Promise<void> {
    await haltHost(labDir(), host, "stop", pid, log);
}

/** A terminated instance's root disk is deleted with it. */
export function deleteRoot(host: string): void {
    rmSync(hostDir(labDir(), host), { recursive: true, force: true });
}

/** The guest's PID 1 as this machine numbers it: the process in the interface's namespace that is PID 1 in its own. */
export async function guestPid(host: string, nspawn: number): Promise<number> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
        if (!isRunning(nspawn)) throw new Error(`instance on ${host}: systemd-nspawn exited; console.log:\n${consoleTail(host)}`);
        for (const p of await netnsPids(hostNetns(host))) {
            try {
                const status = readFileSync(`/proc/${p}/status`, "utf8");
                if (/^NSpid:\s+\d+\s+1$/m.test(status) && /^Name:\s+systemd$/m.test(status)) return p;
            } catch {
                // gone meanwhile
            }
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`instance on ${host}: no systemd came up within 60 s; console.log:\n${consoleTail(host)}`);
}

function consoleTail(host: string): string {
    const file = join(hostDir(labDir(), host), "console.log");
    return existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-20).join("\n") : "(no console.log)";
}

async function loopsOf(file: string): Promise<string[]> {
    return (await run("losetup", ["-j", file])).split("\n").filter(Boolean).map((l) => l.slice(0, l.indexOf(":")));
}

export async function createDiskFile(file: string, sizeGiB: number): Promise<void> {
    mkdirSync(join(labDir(), "disks"), { recursive: true, mode: 0o700 });
    if (existsSync(file)) throw new Error(`disk file ${file} exists already`);
    await run("truncate", ["-s", `${sizeGiB}G`, file]);
}

/** Grows a disk (clouds only grow them); the guest sees the new size once the loop device is re-read. */
export async function growDiskFile(file: string, sizeGiB: number): Promise<void> {
    await run("truncate", ["-s", `${sizeGiB}G`, file]);
    for (const loop of await loopsOf(file)) await run("losetup", ["-c", loop]);
}

export async function deleteDiskFile(file: string): Promise<void> {
    for (const loop of await loopsOf(file)) await run("losetup", ["-d", loop]);
    rmSync(file, { force: true });
}

/** Attaches the disk file as a loop device and makes it appear inside the running guest as `device`. */
export async function plugDisk(host: string, guest: number, file: string, device: GuestDevice): Promise<void> {
    const loop = (await loopsOf(file))[0] ?? (await run("losetup", ["--find", "--show", file])).trim();
    const [major, minor] = readFileSync(`/sys/class/block/${loop.slice(5)}/dev`, "utf8").trim().split(":");
    const links = device.links.map((l) => `mkdir -p "$(dirname ${l})" && ln -sfn ${device.node} ${l}`).join(" && ");
    await inGuest(host, guest, `rm -f ${device.node} && mknod ${device.node} b ${major} ${minor} && chmod 660 ${device.node} && chgrp disk ${device.node}${links ? ` && ${links}` : ""}`);
}

/** Removes the disk from a running guest (or from nothing, when the guest is gone) and detaches its loop device. */
export async function unplugDisk(host: string, guest: number | undefined, file: string, device: GuestDevice): Promise<void> {
    if (guest !== undefined && isRunning(guest)) await inGuest(host, guest, `rm -f ${[device.node, ...device.links].join(" ")}`);
    for (const loop of await loopsOf(file)) await run("losetup", ["-d", loop]);
}

async function inGuest(host: string, guest: number, script: string): Promise<void> {
    const r = await tryRun("nsenter", ["--target", String(guest), "--mount", "--root", "--", "/bin/sh", "-c", script]);
    if (r.code !== 0) throw new Error(`on lab host ${host}: ${script}: ${r.stderr.trim()}`);
}
