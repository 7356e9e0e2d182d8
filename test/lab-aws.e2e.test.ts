/**
 * End to end: the lab plays EC2 (test/lab/cloud-aws.ts) and an AWS stack deploys onto it. Each instance is a lab host
 * booted at its network interface's address that gets its login key, user data and SSH host key through cloud-init;
 * each EBS volume a loop device that appears in its instance under its NVMe by-id name; the security group nftables
 * filtering in each interface's namespace. The cluster comes up healthy with separate data and WAL volumes, only
 * allowed clients reach it, and a new image replaces the instances one at a time under a writer, each member
 * keeping its data. Needs root, systemd-nspawn and nft; elsewhere it skips, saying why.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { awsLabStack, LAB_AWS, openLabAccount } from "./lab/cloud-deploy";
import { ClusterInfo, deploy, DeployResult } from "./lab/deploy";
import { assertHealthy, freshLab, labSkip, log, missingWrites, ssh, sshTry, startWriter, tearDownLab } from "./lab/e2e-support";
import { LabHosts } from "./lab/hosts";
import { labDir } from "./lab/lab-id";
import { createHostNetns, hostAddress, hostNetns } from "./lab/netns";

const DIR = labDir();
const skip = labSkip("lab AWS end-to-end test", ["nft"]);

// Client namespaces far above the interfaces' addresses: client-ok is in aws.clientCidrs, client-no is not.
const CLIENTS = { "client-ok": hostAddress(100), "client-no": hostAddress(101) } as const;

let lab: LabHosts;
let info: ClusterInfo;

const stack = (ami: string) => awsLabStack(lab, { nodes: 3, clientCidrs: [`${CLIENTS["client-ok"]}/32`], aws: { ami } });

interface State { resources: Record<string, { type: string; name: string; id: string }> }
/** Resource ids by name for one type, from the lab runtime's state (what `pulumi stack export` shows). */
function ids(type: string): Record<string, string> {
    const state = JSON.parse(fs.readFileSync(path.join(DIR, "state.json"), "utf8")) as State;
    return Object.fromEntries(Object.values(state.resources).filter((r) => r.type === type).map((r) => [r.name, r.id]));
}

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 0 });
    await openLabAccount(DIR);
    for (const [name, address] of Object.entries(CLIENTS)) await createHostNetns(name, address);
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

test("an AWS stack comes up healthy on lab EC2, with data and WAL on their own EBS volumes, found by volume id and mounted by UUID", { skip }, async () => {
    const result: DeployResult = await deploy(lab, { dir: DIR, log, cloud: stack(LAB_AWS.images[0]) });
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

test("the security group lets an allowed client reach etcd's client port only and keeps any other address out", { skip }, () => {
    assert.ok(info, "the stack came up (first test)");
    const from = (name: keyof typeof CLIENTS): ClusterInfo => ({ ...info, netns: hostNetns(name) });
    assert.equal(spawnSync(...etcdctlArgs(from("client-ok"))).status, 0, "client-ok (in aws.clientCidrs) reads the cluster's health");
    const refused = spawnSync(...etcdctlArgs(from("client-no")));
    assert.notEqual(refused.status, 0, "client-no gets no answer from 2379");
    for (const m of info.members) {
        // All ports at once, each given 10 s: a dropped SYN only times out, and a loaded machine is slow to connect.
        const probe = `for p in 22 2379 2380; do (timeout 10 bash -c "</dev/tcp/${m.address}/$p" 2>/dev/null && echo $p) & done; wait`;
        const seen = (ns: string) => spawnSync("ip", ["netns", "exec", ns, "bash", "-c", probe], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number).sort();
        assert.deepEqual(seen(hostNetns("client-ok")), [2379], `client-ok connects to ${m.name}'s client port only`);
        assert.deepEqual(seen(hostNetns("client-no")), [], `client-no connects to nothing on ${m.name}`);
    }
});

function etcdctlArgs(from: ClusterInfo): [string, string[], { encoding: "utf8" }] {
    return ["ip", ["netns", "exec", from.netns, from.etcdctl, `--endpoints=${from.endpoints.join(",")}`, `--cacert=${from.ca}`, `--cert=${from.cert}`, `--key=${from.key}`,
        "--dial-timeout=3s", "--command-timeout=5s", "endpoint", "health"], { encoding: "utf8" }];
}

/** Seconds since this machine booted, as the shared kernel counts them, of the guest's PID 1 start and etcd's start. */
function startTimes(address: string): { boot: number; etcd: number } {
    const stat = ssh(info, address, "cat /proc/1/stat");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const etcd = Number(ssh(info, address, "systemctl show -p ActiveEnterTimestampMonotonic --value etcd.service"));
    return { boot: ticks / Number(ssh(info, address, "getconf CLK_TCK")), etcd: etcd / 1e6 };
}

test("a new image replaces the instances one at a time under a writer: no acknowledged write fails or is lost, every member keeps its identity", { skip }, async () => {
    assert.ok(info, "the stack came up (first test)");
    const before = assertHealthy(info, 3);
    const oldInstances = ids("aws:ec2/instance:Instance");
    const writer = startWriter(info, "/ami-roll/");
    let result: DeployResult;
    try {
        result = await deploy(lab, { dir: DIR, log, cloud: stack(LAB_AWS.images[1]) });
    } finally {
        const report = await writer.stop();
        log(`writer: ${report.acked.length} acknowledged, ${report.failed} failed, longest gap ${report.longestGapMs} ms`);
        assert.equal(report.failed, 0, "no write failed");
        assert.deepEqual(missingWrites(info, "/ami-roll/", report.acked), [], "every acknowledged write is there");
    }
    log(`rolled in ${result.seconds.toFixed(1)}s`);
    const replaced = result.changes.filter((l) => l.startsWith("+- aws:ec2/instance:Instance"));
    assert.equal(replaced.length, 3, `every instance replaced:\n${result.changes.join("\n")}`);
    const after = assertHealthy(info, 3);
    assert.deepEqual(after, before, "the same member IDs at the same addresses");
    const newInstances = ids("aws:ec2/instance:Instance");
    const times = info.members.map((m) => startTimes(m.address));
    info.members.forEach((m, i) => {
        const id = newInstances[`${m.name}-instance`];
        assert.notEqual(id, oldInstances[`${m.name}-instance`], `${m.name} runs on a new instance`);
        assert.equal(ssh(info, m.address, "cat /var/lib/cloud/data/instance-id"), id, `${m.name}: cloud-init ran for the new instance`);
        assert.match(sshTry(info, m.address, "sudo cat /var/lib/cloud/seed/nocloud/meta-data").stdout, new RegExp(LAB_AWS.images[1]), `${m.name} booted the new image`);
        if (i > 0) assert.ok(times[i].boot > times[i - 1].etcd, `${m.name}'s new instance booted only after ${info.members[i - 1].name}'s etcd ran again`);
    });
});
