/**
 * End to end: the lab plays EC2 (test/lab/cloud-aws.ts) and an AWS stack deploys onto it. Each instance is a lab host
 * booted at its network interface's address that gets its login key, user data and SSH host key through cloud-init;
 * each EBS volume a loop device that appears in its instance under its NVMe by-id name; the security group nftables
 * filtering in each interface's namespace. The cluster comes up healthy with separate data and WAL volumes, only
 * allowed clients reach it, and a new image replaces the instances one at a time under a writer, each member
 * keeping its data. Needs root, systemd-nspawn and nft; elsewhere it skips, saying why.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { awsLabStack, LAB_AWS } from "./lab/cloud-deploy";
import { ClusterInfo, deploy, DeployResult } from "./lab/deploy";
import { CLOUD_CLIENTS, cloudLabHooks, cloudSkip, deployUnderWriter, healthyFrom, openPorts, stackResources, startTimes } from "./lab/cloud-e2e";
import { assertHealthy, log, ssh, sshTry } from "./lab/e2e-support";
import { labDir } from "./lab/lab-id";
import { hostNetns } from "./lab/netns";

const DIR = labDir();
const skip = cloudSkip("lab AWS end-to-end test");
const CLIENTS = CLOUD_CLIENTS;
const lab = cloudLabHooks(skip);
let info: ClusterInfo;

const stack = (ami: string) => awsLabStack(lab(), { nodes: 3, clientCidrs: [`${CLIENTS["client-ok"]}/32`], aws: { ami } });

/** Resource ids by name for one type. */
const ids = (type: string) => Object.fromEntries(Object.entries(stackResources(DIR, type)).map(([name, r]) => [name, r.id]));

test("an AWS stack comes up healthy on lab EC2, with data and WAL on their own EBS volumes, found by volume id and mounted by UUID", { skip }, async () => {
    const result: DeployResult = await deploy(lab(), { dir: DIR, log, cloud: stack(LAB_AWS.images[0]) });
    info = result.info;
    log(`deployed in ${result.seconds.toFixed(1)}s`);
    assertHealthy(info, 3);
    const volumes = ids("aws:ebs/volume:Volume");
    const instances = ids("aws:ec2/instance:Instance");
    for (const m of info.members) {
        assert.equal(ssh(info, m.address, "cat /var/lib/cloud/data/instance-id"), instances[`${m.name}-instance`], `${m.name}: cloud-init ran for its instance`);
        const fstab = ssh(info, m.address, "cat /etc/fstab");
        for (const [role, dir] of [["data", "/var/lib/etcd"], ["wal", "/var/lib/etcd-wal"]] as const) {
            const byId = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumes[`${m.name}-${role}`].replace("-", "")}`;
            const device = ssh(info, m.address, `readlink -f ${byId}`);
            assert.match(device, /^\/dev\/nvme\dn1$/, `${m.name}: the ${role} volume is an NVMe device`);
            assert.equal(ssh(info, m.address, `findmnt -n -o SOURCE --mountpoint ${dir}`), device, `${m.name}: ${dir} is the ${role} volume`);
            const uuid = ssh(info, m.address, `sudo blkid -p -s UUID -o value ${device}`);
            assert.match(fstab, new RegExp(`^UUID=${uuid} ${dir} ext4 `, "m"), `${m.name}: fstab mounts the ${role} volume by UUID`);
        }
    }
});

test("the security group lets an allowed client reach etcd's client port only and keeps any other address out", { skip }, async () => {
    assert.ok(info, "the stack came up (first test)");
    assert.ok(healthyFrom(info, hostNetns("client-ok")), "client-ok (in aws.clientCidrs) reads the cluster's health");
    assert.ok(!healthyFrom(info, hostNetns("client-no")), "client-no gets no answer from 2379");
    const addresses = info.members.map((m) => m.address);
    const [ok, no] = await Promise.all(["client-ok", "client-no"].map((c) => openPorts(hostNetns(c), addresses, [22, 2379, 2380])));
    for (const m of info.members) {
        assert.deepEqual(ok[m.address], [2379], `client-ok connects to ${m.name}'s client port only`);
        assert.deepEqual(no[m.address], [], `client-no connects to nothing on ${m.name}`);
    }
});

test("a new image replaces the instances one at a time under a writer: no acknowledged write fails or is lost, every member keeps its identity", { skip }, async () => {
    assert.ok(info, "the stack came up (first test)");
    const before = assertHealthy(info, 3);
    const oldInstances = ids("aws:ec2/instance:Instance");
    const result = await deployUnderWriter(info, lab(), stack(LAB_AWS.images[1]), "/ami-roll/", log);
    log(`rolled in ${result.seconds.toFixed(1)}s`);
    const replaced = result.changes.filter((l) => l.startsWith("+- aws:ec2/instance:Instance"));
    assert.equal(replaced.length, 3, `every instance replaced:\n${result.changes.join("\n")}`);
    const after = assertHealthy(info, 3);
    assert.deepEqual(after, before, "the same member IDs at the same addresses");
    const newInstances = ids("aws:ec2/instance:Instance");
    const times = info.members.map((m) => startTimes(info, m.address));
    info.members.forEach((m, i) => {
        const id = newInstances[`${m.name}-instance`];
        assert.notEqual(id, oldInstances[`${m.name}-instance`], `${m.name} runs on a new instance`);
        assert.equal(ssh(info, m.address, "cat /var/lib/cloud/data/instance-id"), id, `${m.name}: cloud-init ran for the new instance`);
        assert.match(sshTry(info, m.address, "sudo cat /var/lib/cloud/seed/nocloud/meta-data").stdout, new RegExp(LAB_AWS.images[1]), `${m.name} booted the new image`);
        if (i > 0) assert.ok(times[i].boot > times[i - 1].etcd, `${m.name}'s new instance booted only after ${info.members[i - 1].name}'s etcd ran again`);
    });
});
