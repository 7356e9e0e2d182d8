/**
 * End to end: lab hosts with real data and WAL disks (loop devices bound into the containers). A disk that already
 * holds a filesystem is refused and left as it was, blank disks become etcd's, the preflight checks stop members
 * that fail them and report their figures, the disk step converges, and a host rebuilt with its old disks comes back
 * as the same member with its data. Needs root and systemd-nspawn; elsewhere it skips, saying why.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ClusterInfo, deploy, LAB_PREFLIGHT } from "./lab/deploy";
import { assertHealthy as assertHealthyOn, ok as okOn, ssh as sshOn, labSkip, freshLab, tearDownLab, log } from "./lab/e2e-support";
import { labDiskFile } from "./lab/hosts-disks";
import { LabHosts, labDown, labRebuild, labUp } from "./lab/hosts";
import { labDir } from "./lab/lab-id";

const DIR = labDir();
const skip = labSkip("lab disks end-to-end test");

let lab: LabHosts;
let info: ClusterInfo;
let outputs: Record<string, unknown>;

const ssh = (address: string, command: string) => sshOn(info, address, command);
const address = (name: string) => lab.hosts.find((h) => h.name === name)!.address;

function host(cmd: string, args: string[]): string {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
}

/** The loop device behind a lab host's disk, on this machine. */
function loopOf(name: string, role: "data" | "wal"): string {
    const line = host("losetup", ["-j", labDiskFile(DIR, name, role)]);
    return line.slice(0, line.indexOf(":"));
}

/** Reads a file from a filesystem on this machine's loop device, mounted read-only for a moment. */
function readOnDisk(loop: string, file: string): string {
    const mnt = fs.mkdtempSync(path.join(DIR, "mnt-"));
    try {
        host("mount", ["-o", "ro", loop, mnt]);
        try { return fs.readFileSync(path.join(mnt, file), "utf8"); } finally { host("umount", [mnt]); }
    } finally {
        fs.rmdirSync(mnt);
    }
}

const preflightOf = (name: string) => (outputs.preflight as Record<string, Record<string, unknown>>)[name];

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 3, disks: true });
    info = { netns: lab.netns, sshKey: lab.sshKey, sshUser: lab.sshUser } as ClusterInfo;
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

test("a disk holding a filesystem is refused and left untouched; failed preflight checks keep etcd from starting", { skip }, async () => {
    const foreign = loopOf("etcd-3", "wal");
    host("mkfs.ext4", ["-q", "-L", "backups", foreign]);
    const mnt = fs.mkdtempSync(path.join(DIR, "mnt-"));
    host("mount", [foreign, mnt]);
    fs.writeFileSync(path.join(mnt, "precious"), "keep me\n");
    host("umount", [mnt]);
    fs.rmdirSync(mnt);
    const uuid = host("blkid", ["-p", "-s", "UUID", "-o", "value", foreign]);

    await assert.rejects(deploy(lab, { dir: DIR }), /etcd-3: wal device \/dev\/disk\/by-id\/virtio-lab-wal holds a ext4 filesystem labelled 'backups', not etcd-cluster's ext4 labelled 'etcd-wal'/);
    assert.equal(host("blkid", ["-p", "-s", "UUID", "-o", "value", foreign]), uuid, "the foreign filesystem is still there");
    assert.equal(readOnDisk(foreign, "precious"), "keep me\n");
    for (const h of lab.hosts) assert.notEqual(ssh(h.address, "systemctl is-active etcd.service || true"), "active", `${h.name}: etcd did not start`);
    assert.equal(ssh(address("etcd-3"), "findmnt -n /var/lib/etcd-wal /var/lib/etcd || true"), "", "etcd-3: nothing mounted");

    // The operator decides the disk may go, and erases it; then the deployment completes.
    host("dd", ["if=/dev/zero", `of=${foreign}`, "bs=1M", "count=1", "oflag=direct", "status=none"]);
    // Without the lab's time-sync waiver, the preflight check stops the members.
    await assert.rejects(deploy(lab, { dir: DIR, extraConfig: { preflight: { walFsyncP99Ms: LAB_PREFLIGHT.walFsyncP99Ms } } }),
        /preflight failed; etcd is not started on this machine:\n\s*- no time service is running with a synchronised clock \(timedatectl: time service active: no/);
    for (const h of lab.hosts) assert.notEqual(ssh(h.address, "systemctl is-active etcd.service || true"), "active", `${h.name}: etcd did not start`);
    const result = await deploy(lab, { dir: DIR });
    info = result.info;
    outputs = result.outputs;
    assertHealthy(3);
});

const assertHealthy = (n: number) => assertHealthyOn(info, n);

test("etcd's data and WAL are on their own disks: mounted by UUID with noatime, in fstab with nofail, asserted by etcd.service", { skip }, () => {
    okOn(info, ["put", "e2e/disks/hello", "world"]);
    for (const h of lab.hosts) {
        const [data, wal] = ["/var/lib/etcd/member", "/var/lib/etcd-wal/wal"].map((p) => ssh(h.address, `findmnt -n -o SOURCE,FSTYPE,OPTIONS,TARGET --target ${p}`).split(/\s+/));
        assert.deepEqual([data[0], data[1], data[3]], ["/dev/vdb", "ext4", "/var/lib/etcd"], `${h.name}: data on the data disk`);
        assert.deepEqual([wal[0], wal[1], wal[3]], ["/dev/vdc", "ext4", "/var/lib/etcd-wal"], `${h.name}: WAL on the WAL disk`);
        for (const options of [data[2], wal[2]]) assert.match(options, /(^|,)noatime(,|$)/);
        const uuids = ["/dev/vdb", "/dev/vdc"].map((d) => ssh(h.address, `blkid -p -s UUID -o value ${d}`));
        const fstab = ssh(h.address, "grep -v '^#' /etc/fstab");
        assert.match(fstab, new RegExp(`^UUID=${uuids[0]} /var/lib/etcd ext4 noatime,nofail 0 2$`, "m"));
        assert.match(fstab, new RegExp(`^UUID=${uuids[1]} /var/lib/etcd-wal ext4 noatime,nofail 0 2$`, "m"));
        // A container's systemd ignores fstab's device entries, so RequiresMountsFor= can only order etcd after the
        // mounts here; the asserted mount points keep it from starting without them.
        assert.match(ssh(h.address, "systemctl show -p After etcd.service"), /var-lib-etcd\.mount/);
        assert.match(ssh(h.address, "systemctl cat etcd.service"), /^AssertPathIsMountPoint=\/var\/lib\/etcd\nAssertPathIsMountPoint=\/var\/lib\/etcd-wal$/m);
        assert.equal(ssh(h.address, "stat -c '%a %U:%G' /var/lib/etcd /var/lib/etcd-wal"), "700 etcd:etcd\n700 etcd:etcd");
    }
});

test("the preflight figures of every member are stack outputs", { skip }, () => {
    for (const h of lab.hosts) {
        const p = preflightOf(h.name);
        log(`${h.name} preflight: ${JSON.stringify(p)}`);
        assert.ok(typeof p.walFsyncP99Ms === "number" && p.walFsyncP99Ms > 0, `${h.name}: measured fsync p99`);
        assert.equal(p.walFsyncP99MsThreshold, LAB_PREFLIGHT.walFsyncP99Ms);
        assert.ok((p.dataAvailableBytes as number) >= (p.dataRequiredBytes as number), `${h.name}: room for the quota`);
        assert.match(String(p.timeService), /^timedatectl: time service active: no/);
        assert.deepEqual(p.waived, LAB_PREFLIGHT.waive);
    }
});

test("the disk step run again formats nothing and remounts nothing", { skip }, () => {
    const state = JSON.parse(fs.readFileSync(path.join(DIR, "state.json"), "utf8")) as { resources: Record<string, { name: string; inputs: { create: string } }> };
    const step = Object.values(state.resources).find((r) => r.name === "etcd-1-disks")!;
    const a = address("etcd-1");
    const look = () => ssh(a, "blkid -p -s UUID -o value /dev/vdb /dev/vdc; awk '$5 ~ /^\\/var\\/lib\\/etcd/ { print $1, $5 }' /proc/self/mountinfo; systemctl show -p MainPID --value etcd.service");
    const before = look();
    const out = ssh(a, step.inputs.create);
    assert.match(out, /etcd-1: disks are formatted, recorded in \/etc\/fstab and mounted; nothing to do/);
    assert.equal(look(), before, "same filesystems, same mounts (mount IDs), same etcd process");
});

test("a host rebuilt with its old disks comes back as the same member with its data", { skip }, async () => {
    const endpoint = `https://${address("etcd-2")}:2379`;
    const idBefore = assertHealthy(3).get(endpoint);
    okOn(info, ["put", "e2e/disks/before-rebuild", "kept"]);
    const uuidsBefore = ssh(address("etcd-2"), "blkid -p -s UUID -o value /dev/vdb /dev/vdc");
    const checkedBefore = preflightOf("etcd-2").checkedAt;

    await labRebuild("etcd-2", { keepPaths: [], dir: DIR, log });
    assert.notEqual(ssh(address("etcd-2"), "test -e /etc/etcd/current; echo $?"), "0", "a fresh root filesystem");
    // The rebuilt host has a new SSH host key: its machine identity changes, so every step of etcd-2 runs again.
    lab = await labUp({ count: 3, dir: DIR, log, disks: true });
    outputs = (await deploy(lab, { dir: DIR })).outputs;

    assert.equal(ssh(address("etcd-2"), "blkid -p -s UUID -o value /dev/vdb /dev/vdc"), uuidsBefore, "the old disks, not formatted again");
    assert.equal(assertHealthy(3).get(endpoint), idBefore, "the same member");
    assert.equal(okOn(info, ["get", "e2e/disks/before-rebuild", "--print-value-only", "--consistency=s"], { endpoints: [endpoint] }).trim(), "kept");
    assert.notEqual(preflightOf("etcd-2").checkedAt, checkedBefore, "the rebuilt machine was checked again");
});

test("labDown detaches the loop devices and deletes the disk files", { skip }, async () => {
    const files = lab.hosts.flatMap((h) => (["data", "wal"] as const).map((r) => labDiskFile(DIR, h.name, r)));
    await labDown({ dir: DIR, log });
    const attached = host("losetup", ["--list", "--noheadings", "--output", "BACK-FILE"]);
    for (const f of files) {
        assert.equal(fs.existsSync(f), false, `${f} deleted`);
        assert.ok(!attached.includes(f), `${f} detached`);
    }
});
