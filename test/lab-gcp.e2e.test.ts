/**
 * End to end: the lab plays Compute Engine (test/lab/cloud-gcp.ts) and a GCP stack deploys onto it. Each instance is
 * a lab host booted at its reserved internal address that runs its `user-data` through cloud-init (login user and
 * SSH host key); each persistent disk a loop device that appears in its instance under
 * /dev/disk/by-id/google-<deviceName>; the firewall rules nftables in each address's namespace. The cluster comes up
 * healthy with separate data and WAL disks, only allowed clients reach 2379 and only members 2380, and a new image
 * replaces the instances one at a time under a writer, each member keeping its disks and its data. One deployment and
 * one roll. Needs root, systemd-nspawn and nft; elsewhere it skips, saying why.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import { CLOUD_CLIENTS, cloudLabHooks, cloudSkip, deployUnderWriter, healthyFrom, openPorts, stackResources, startTimes } from "./lab/cloud-e2e";
import { gcpLabStack, LAB_GCP } from "./lab/cloud-deploy";
import { cloudFile, readAccount } from "./lab/cloud-store";
import { ClusterInfo, deploy, DeployResult } from "./lab/deploy";
import { assertHealthy, log, ssh, sshTry } from "./lab/e2e-support";
import { labDir } from "./lab/lab-id";
import { hostNetns } from "./lab/netns";

const DIR = labDir();
const skip = cloudSkip("lab GCP end-to-end test");
const CLIENTS = CLOUD_CLIENTS;
const lab = cloudLabHooks(skip);
const INSTANCE = "gcp:compute/instance:Instance";
const DISK = "gcp:compute/disk:Disk";
let info: ClusterInfo;

const stack = (image: string) => gcpLabStack(lab(), { nodes: 3, clientCidrs: [`${CLIENTS["client-ok"]}/32`], gcp: { image } });
const instanceIds = () => Object.fromEntries(Object.entries(stackResources(DIR, INSTANCE)).map(([name, r]) => [name, String(r.outputs.instanceId)]));

/** The block device (major:minor, as stat prints them in hex) of the loop device the lab attached a disk's file to. */
function diskDevice(diskId: string): string {
    const file = readAccount(cloudFile(DIR)).disks[diskId]?.file;
    assert.ok(file, `disk ${diskId} is in the lab's account`);
    const loop = spawnSync("losetup", ["-j", file], { encoding: "utf8" }).stdout.split(":")[0];
    const [major, minor] = readFileSync(`/sys/class/block/${loop.slice(5)}/dev`, "utf8").trim().split(":").map(Number);
    return `${major.toString(16)}:${minor.toString(16)}`;
}

test("a GCP stack comes up healthy on lab Compute Engine, with data and WAL on their own persistent disks, found by device name and mounted by UUID", { skip }, async () => {
    const result: DeployResult = await deploy(lab(), { dir: DIR, log, cloud: stack(LAB_GCP.images[0]) });
    info = result.info;
    log(`deployed in ${result.seconds.toFixed(1)}s`);
    assertHealthy(info, 3);
    const disks = stackResources(DIR, DISK);
    const instances = instanceIds();
    // One login per member: what cloud-init recorded, fstab, and per disk its by-id target, block device, mount and UUID.
    const probe = [
        "cat /var/lib/cloud/data/instance-id", "echo ---", "cat /etc/fstab",
        ...["data", "wal"].flatMap((role) => {
            const byId = `/dev/disk/by-id/google-etcd-${role}`;
            const dir = role === "data" ? "/var/lib/etcd" : "/var/lib/etcd-wal";
            return ["echo ---", `readlink -f ${byId}`, `stat -L -c %t:%T ${byId}`, `findmnt -n -o SOURCE --mountpoint ${dir}`, `sudo blkid -p -s UUID -o value "$(readlink -f ${byId})"`];
        }),
    ].join("; ");
    for (const m of info.members) {
        const [instanceId, fstab, ...roles] = ssh(info, m.address, probe).split("---\n").map((part) => part.trim());
        assert.equal(instanceId, instances[`${m.name}-instance`], `${m.name}: cloud-init ran for its instance`);
        (["data", "wal"] as const).forEach((role, i) => {
            const [device, block, mounted, uuid] = roles[i].split("\n");
            const dir = role === "data" ? "/var/lib/etcd" : "/var/lib/etcd-wal";
            assert.equal(block, diskDevice(disks[`${m.name}-${role}`].id), `${m.name}: google-etcd-${role} is its ${role} disk`);
            assert.equal(mounted, device, `${m.name}: ${dir} is the ${role} disk`);
            assert.match(uuid, /^[0-9a-f-]{36}$/, `${m.name}: the ${role} disk has a file system`);
            assert.match(fstab, new RegExp(`^UUID=${uuid} ${dir} ext4 noatime`, "m"), `${m.name}: fstab mounts the ${role} disk by UUID with noatime`);
        });
    }
});

test("the firewall rules let an allowed client reach etcd's client port only, keep any other address out, and open the peer port to members alone", { skip }, async () => {
    assert.ok(info, "the stack came up (first test)");
    assert.ok(healthyFrom(info, hostNetns("client-ok")), "client-ok (in gcp.clientCidrs) reads the cluster's health");
    assert.ok(!healthyFrom(info, hostNetns("client-no")), "client-no gets no answer from 2379");
    const [first, ...others] = info.members;
    const addresses = info.members.map((m) => m.address);
    // The lab gateway (info.netns) is the admin and a client network, not a member.
    const [ok, no, admin] = await Promise.all([hostNetns("client-ok"), hostNetns("client-no"), info.netns].map((ns) => openPorts(ns, addresses, [22, 2379, 2380])));
    for (const m of info.members) {
        assert.deepEqual(ok[m.address], [2379], `client-ok connects to ${m.name}'s client port only`);
        assert.deepEqual(no[m.address], [], `client-no connects to nothing on ${m.name}`);
        assert.deepEqual(admin[m.address], [22, 2379], `the admin network reaches ${m.name} on SSH and 2379, not 2380`);
    }
    for (const m of others) {
        assert.equal(sshTry(info, first.address, `timeout 10 bash -c '</dev/tcp/${m.address}/2380'`).status, 0, `${first.name} (a member) reaches ${m.name}'s peer port`);
    }
});

test("a new image replaces the instances one at a time under a writer: no acknowledged write fails or is lost, every member keeps its disks and identity", { skip }, async () => {
    assert.ok(info, "the stack came up (first test)");
    const before = assertHealthy(info, 3);
    const oldInstances = instanceIds();
    const oldDisks = stackResources(DIR, DISK);
    const result = await deployUnderWriter(info, lab(), stack(LAB_GCP.images[1]), "/image-roll/", log);
    log(`rolled in ${result.seconds.toFixed(1)}s`);
    assert.equal(result.changes.filter((l) => l.startsWith(`+- ${INSTANCE}`)).length, 3, `every instance replaced:\n${result.changes.join("\n")}`);
    assert.deepEqual(result.changes.filter((l) => / gcp:compute\/(disk|address):/.test(l)), [], "no disk or address changed");
    assert.deepEqual(assertHealthy(info, 3), before, "the same member IDs at the same addresses");
    const newInstances = instanceIds();
    const times = info.members.map((m) => startTimes(info, m.address));
    info.members.forEach((m, i) => {
        const id = newInstances[`${m.name}-instance`];
        assert.notEqual(id, oldInstances[`${m.name}-instance`], `${m.name} runs on a new instance`);
        assert.equal(ssh(info, m.address, "cat /var/lib/cloud/data/instance-id"), id, `${m.name}: cloud-init ran for the new instance`);
        assert.match(sshTry(info, m.address, "sudo cat /var/lib/cloud/seed/nocloud/meta-data").stdout, new RegExp(LAB_GCP.images[1]), `${m.name} booted the new image`);
        for (const role of ["data", "wal"]) {
            assert.equal(ssh(info, m.address, `stat -L -c %t:%T /dev/disk/by-id/google-etcd-${role}`), diskDevice(oldDisks[`${m.name}-${role}`].id), `${m.name}'s new instance has its ${role} disk back`);
        }
        if (i > 0) assert.ok(times[i].boot > times[i - 1].etcd, `${m.name}'s new instance booted only after ${info.members[i - 1].name}'s etcd ran again`);
    });
});
