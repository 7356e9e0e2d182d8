import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { validateConfig } from "../components/config";
import { SIZES, loadTiers } from "../sizing";
import { AwsTarget } from "../components/targets/aws/config";
import { attachmentOptions, ebsDevicePath, volumeOptions } from "../components/targets/aws/disks";
import { instanceOptions } from "../components/targets/aws/instance";
import { securityGroupRules } from "../components/targets/aws/network";
import { installOutboundPorts } from "../components/scripts/install";
import { spreadAcrossZones } from "../components/targets/cloud/zones";
import { cloudValidation, AWS_SUBNETS, awsConfig, byType, named, runProgram, TEST_KEY, testHostKey } from "./support/program";

const tiers = loadTiers();
const small = runProgram(awsConfig(3));
const bastionHostKey = testHostKey(9);
const xlarge = runProgram(awsConfig(5, {
    volumeType: "io2", kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-00000000abcd",
    adminCidrs: [], bastion: { host: "bastion.example.com", user: "admin", hostKey: bastionHostKey, securityGroup: "sg-0bbbbbbbbbbbbbbb1" },
    clientSecurityGroups: ["sg-0ccccccccccccccc2"], keyPair: "ops",
}, { size: "xlarge", sshPrivateKey: TEST_KEY }));

const { validate, errorFor } = cloudValidation("aws");

test("an AWS stack registers without error and makes no invoke (every lookup would have to be mocked)", () => {
    for (const run of [small, xlarge]) {
        assert.equal(run.error, undefined);
        assert.deepEqual(run.invokes, []);
    }
});

test("per tier, the instance type and the volumes' IOPS and throughput are the tier's (gp3 never below its included 3000 IOPS, 125 MiB/s)", () => {
    for (const size of SIZES) {
        const { target, errors } = validate({}, { size });
        assert.deepEqual(errors, [], size);
        const t = target as AwsTarget;
        const tier = tiers[size].aws;
        assert.equal(t.instanceType, tier.instanceType, size);
        for (const v of [t.data, t.wal]) {
            assert.equal(v.type, "gp3");
            assert.equal(v.iops, tier.provisionedIops, size);
            assert.equal(v.throughput, Math.max(125, Math.ceil(tier.throughputMBps)), size);
        }
    }
    for (const [run, size] of [[small, "small"], [xlarge, "xlarge"]] as const) {
        const tier = tiers[size].aws;
        for (const instance of byType(run, "aws:ec2/instance:Instance")) assert.equal(instance.inputs.instanceType, tier.instanceType);
        for (const volume of byType(run, "aws:ebs/volume:Volume")) assert.equal(volume.inputs.iops, tier.provisionedIops, volume.name);
    }
    for (const volume of byType(xlarge, "aws:ebs/volume:Volume")) {
        assert.equal(volume.inputs.type, "io2");
        assert.equal(volume.inputs.throughput, undefined, "io2 throughput follows IOPS");
    }
});

test("members are spread across zones: none shares a zone while one is unused; each volume lives in its member's zone", () => {
    assert.deepEqual(spreadAcrossZones(3, ["a", "b", "c"]), ["a", "b", "c"]);
    assert.deepEqual(spreadAcrossZones(5, ["a", "b", "c"]), ["a", "b", "c", "a", "b"]);
    assert.deepEqual(spreadAcrossZones(3, ["a", "b"]), ["a", "b", "a"]);
    const zones = AWS_SUBNETS.map((s) => s.zone);
    for (let i = 1; i <= 5; i++) {
        const subnet = AWS_SUBNETS[(i - 1) % 3];
        assert.equal(named(xlarge, `etcd-${i}-eni`).inputs.subnetId, subnet.id);
        for (const role of ["data", "wal"]) assert.equal(named(xlarge, `etcd-${i}-${role}`).inputs.availabilityZone, zones[(i - 1) % 3]);
    }
});

test("the security group: peers from members only, clients from members and configured clients, SSH from admins or the bastion, egress only as needed", () => {
    const [sg] = byType(small, "aws:ec2/securityGroup:SecurityGroup");
    assert.equal(sg.inputs.vpcId, "vpc-0123456789abcdef0");
    const ports = (rules: unknown) => (rules as Array<Record<string, unknown>>).map(({ description, ...r }) => r);
    assert.deepEqual(ports(sg.inputs.ingress), [
        { protocol: "tcp", fromPort: 2380, toPort: 2380, self: true },
        { protocol: "tcp", fromPort: 2379, toPort: 2379, self: true },
        { protocol: "tcp", fromPort: 2379, toPort: 2379, cidrBlocks: ["10.20.0.0/16"] },
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.99.0.0/24"] },
    ]);
    assert.deepEqual(ports(sg.inputs.egress), [
        { protocol: "tcp", fromPort: 2379, toPort: 2380, self: true },
        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
    ], "etcd is downloaded over https: that port only");
    const [withBastion] = byType(xlarge, "aws:ec2/securityGroup:SecurityGroup");
    assert.deepEqual(ports(withBastion.inputs.ingress).slice(2), [
        { protocol: "tcp", fromPort: 2379, toPort: 2379, cidrBlocks: ["10.20.0.0/16"] },
        { protocol: "tcp", fromPort: 2379, toPort: 2379, securityGroups: ["sg-0ccccccccccccccc2"] },
        { protocol: "tcp", fromPort: 22, toPort: 22, securityGroups: ["sg-0bbbbbbbbbbbbbbb1"] },
    ]);
    const mirror = securityGroupRules({ clientCidrs: [], clientSecurityGroups: [], adminCidrs: ["10.0.0.0/8"] },
        installOutboundPorts({ etcdDownloadUrl: "https://mirror.example.com:8443/etcd" }));
    assert.deepEqual(ports(mirror.egress)[1], { protocol: "tcp", fromPort: 8443, toPort: 8443, cidrBlocks: ["0.0.0.0/0"] }, "a mirror on its own port: that port");
    const offline = securityGroupRules({ clientCidrs: ["2001:db8::/48"], clientSecurityGroups: [], adminCidrs: ["10.0.0.0/8"] },
        installOutboundPorts({ etcdArchive: "etcd-v3.6.14-linux-amd64.tar.gz", etcdDownloadUrl: "https://github.com/etcd-io/etcd/releases/download" }));
    assert.deepEqual(ports(offline.egress), [{ protocol: "tcp", fromPort: 2379, toPort: 2380, self: true }], "an offline install needs no egress but to members");
    assert.deepEqual(ports(offline.ingress)[2], { protocol: "tcp", fromPort: 2379, toPort: 2379, ipv6CidrBlocks: ["2001:db8::/48"] });
    for (const eni of byType(small, "aws:ec2/networkInterface:NetworkInterface")) assert.deepEqual(eni.inputs.securityGroups, [`${sg.name}-id`]);
});

test("volumes are encrypted (with the configured KMS key), protected, and outlive instance replacement; attachments detach first, from a stopped instance", () => {
    for (const v of byType(small, "aws:ebs/volume:Volume")) { assert.equal(v.inputs.encrypted, true); assert.equal(v.inputs.kmsKeyId, undefined); }
    for (const v of byType(xlarge, "aws:ebs/volume:Volume")) assert.equal(v.inputs.kmsKeyId, "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-00000000abcd");
    assert.equal(volumeOptions().protect, true);
    assert.equal(volumeOptions().deleteBeforeReplace, undefined);
    assert.equal(attachmentOptions().deleteBeforeReplace, true);
    assert.equal(instanceOptions([]).deleteBeforeReplace, true, "the interface and volumes can belong to one instance at a time");
    for (const a of byType(small, "aws:ec2/volumeAttachment:VolumeAttachment")) assert.equal(a.inputs.stopInstanceBeforeDetaching, true);
    for (const v of byType(small, "aws:ebs/volume:Volume")) {
        assert.ok(!JSON.stringify(v.inputs).includes("i-0"), `${v.name} takes nothing from an instance, so replacing one never replaces it`);
    }
    for (const i of byType(small, "aws:ec2/instance:Instance")) {
        assert.equal(i.inputs.ebsBlockDevices, undefined, "no volume is created with (and deleted with) the instance");
        assert.deepEqual(i.inputs.rootBlockDevice, { encrypted: true, volumeType: "gp3" });
    }
});

test("data and WAL volumes appear under stable device paths: by volume id on Nitro, by attachment name on Xen (m4)", () => {
    assert.equal(ebsDevicePath("vol-0123456789abcdef0", "/dev/sdf", true), "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0");
    assert.equal(ebsDevicePath("vol-0123456789abcdef0", "/dev/sdg", false), "/dev/xvdg");
    assert.deepEqual(byType(small, "aws:ec2/volumeAttachment:VolumeAttachment").filter((a) => a.name.startsWith("etcd-1-")).map((a) => a.inputs.deviceName), ["/dev/sdf", "/dev/sdg"]);
});

test("each member keeps a fixed interface: the instance boots with it, and certificates and endpoints carry its address", () => {
    for (let i = 1; i <= 3; i++) {
        const instance = named(small, `etcd-${i}-instance`);
        assert.deepEqual(instance.inputs.primaryNetworkInterface, { networkInterfaceId: `etcd-${i}-eni-id` });
        assert.equal(instance.inputs.ami, "ami-0123456789abcdef0");
        assert.deepEqual((named(small, `etcd-${i}-server-csr`).inputs.ipAddresses as string[])[0], `10.1.0.${10 + i}`);
    }
    assert.deepEqual(small.outputs.clientEndpoints.value, ["https://10.1.0.11:2379", "https://10.1.0.12:2379", "https://10.1.0.13:2379"]);
});

test("SSH: a program-made host key installed by user data and verified from the first connection; a generated login key registered as a key pair", () => {
    const [pair] = byType(small, "aws:ec2/keyPair:KeyPair");
    assert.equal(pair.inputs.publicKey, "ssh-ed25519 FAKEPUBLICetcddevloginkey\n");
    assert.equal(named(small, "etcd-dev-login-key").inputs.algorithm, "ED25519");
    for (let i = 1; i <= 3; i++) {
        assert.equal(named(small, `etcd-${i}-host-key`).inputs.algorithm, "ED25519");
        const instance = named(small, `etcd-${i}-instance`);
        assert.equal(instance.inputs.keyName, "etcd-dev-login-key");
        assert.ok(instance.secretInputs.includes("userData"), "user data holds the host's private key");
        const userData = String(instance.inputs.userData);
        assert.match(userData, /^#cloud-config\nssh_deletekeys: true\nssh_keys:\n  ed25519_private: \|\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    FAKE KEY etcd-\d-host-key\n/);
        assert.ok(userData.endsWith(`  ed25519_public: ssh-ed25519 FAKEPUBLICetcd${i}hostkey\n`));
        for (const step of ["install", "configure", "apply"]) {
            const c = named(small, `etcd-${i}-${step}`).inputs.connection as Record<string, unknown>;
            assert.deepEqual([c.host, c.user, c.hostKey, c.dialErrorLimit, c.perDialTimeout], [`10.1.0.${10 + i}`, "admin", `ssh-ed25519 FAKEPUBLICetcd${i}hostkey`, 60, 15]);
            assert.match(String(c.privateKey), /FAKE KEY etcd-dev-login-key/);
            assert.equal(c.proxy, undefined);
        }
    }
    assert.equal(byType(xlarge, "aws:ec2/keyPair:KeyPair").length, 0, "a user-supplied key pair is used as is");
    const c = named(xlarge, "etcd-4-configure").inputs.connection as Record<string, unknown>;
    assert.equal(c.privateKey, TEST_KEY);
    assert.deepEqual(c.proxy, { host: "bastion.example.com", port: 22, user: "admin", hostKey: bastionHostKey, privateKey: TEST_KEY, dialErrorLimit: 60, perDialTimeout: 15 });
    assert.equal(named(xlarge, "etcd-4-instance").inputs.keyName, "ops");
});

test("instances change one member at a time: each waits for the previous member's apply step, and a new instance or type runs every step again", () => {
    for (const run of [small, xlarge]) {
        const n = byType(run, "aws:ec2/instance:Instance").length;
        for (let i = 2; i <= n; i++) {
            assert.ok(named(run, `etcd-${i}-instance`).started > named(run, `etcd-${i - 1}-apply`).finished, `etcd-${i}'s instance waits for etcd-${i - 1} to be applied`);
        }
        for (let i = 1; i <= n; i++) {
            const instance = named(run, `etcd-${i}-instance`);
            for (const step of ["install", "configure", "apply"]) {
                const s = named(run, `etcd-${i}-${step}`);
                assert.ok(s.started > instance.finished, `${s.name} runs on the instance once it exists`);
                assert.deepEqual(s.inputs.triggers, [`${instanceId(run, i)} ${instance.inputs.instanceType}`]);
            }
        }
    }
});

function instanceId(run: typeof small, i: number): string {
    return String(named(run, `etcd-${i}-data-attachment`).inputs.instanceId);
}

test("bad AWS settings are refused before any resource, each naming the key, the value and what is allowed", () => {
    errorFor({ subnets: [] }, "aws.subnets", "is not set", /one entry \{ id, zone \} per availability zone/);
    errorFor({ subnets: [AWS_SUBNETS[0], { id: "subnet-0ddddddddddddddd4", zone: "us-east-1a" }] }, "aws.subnets[1].zone", "us-east-1a", /not an availability zone of eu-west-1/);
    errorFor({ subnets: [AWS_SUBNETS[0], { id: "subnet-0ddddddddddddddd4", zone: "eu-west-1a" }] }, "aws.subnets[1].zone", "eu-west-1a", /one subnet per availability zone/);
    errorFor({ instanceType: "m6i.large" }, "aws.instanceType", "m6i.large", /smaller than the medium tier \(2 vCPUs < 4, 8 GiB memory < 16 GiB\)/, { size: "medium" });
    errorFor({ instanceType: "c6i.large" }, "aws.instanceType", "c6i.large", /smaller than the small tier \(4 GiB memory < 8 GiB\)/);
    errorFor({ instanceType: "t2.nano" }, "aws.instanceType", "t2.nano", /allowed: m4.large, .*m6i.large/);
    errorFor({ iops: 20000 }, "aws.iops", "20000", /gp3 takes 3000-16000 IOPS; use io2 for more/);
    errorFor({ throughputMBps: 1200 }, "aws.throughputMBps", "1200", /gp3 takes 125-1000 MiB\/s/);
    errorFor({ iops: 16000, walVolumeGiB: 20 }, "aws.walVolumeGiB", "20", /16000 IOPS need at least 32 GiB/);
    errorFor({ volumeType: "gp2" }, "aws.volumeType", "gp2", /allowed: gp3, io2/);
    errorFor({ ami: "latest" }, "aws.ami", "latest", /pinned/);
    errorFor({ clientCidrs: ["0.0.0.0/0"] }, "aws.clientCidrs[0]", "0.0.0.0/0", /never opened to the whole internet/);
    errorFor({ adminCidrs: [] }, "aws.adminCidrs", "is not set", /or through a bastion/);
    errorFor({ keyPair: "ops" }, "sshPrivateKey", "is not set", /private key of key pair "ops"/);
    errorFor({ regoin: "eu-west-1" }, "aws.regoin", "eu-west-1", /unknown key "regoin"/);
    const run = runProgram(awsConfig(3, { subnets: [], instanceType: "m5.large" }, { size: "large" }));
    assert.match(String(run.error), /invalid stack configuration \(2 problems\)/);
    assert.match(String(run.error), /etcd-cluster:aws.subnets: is not set/);
    assert.match(String(run.error), /etcd-cluster:aws.instanceType: "m5.large" is not allowed; smaller than the large tier/);
    assert.deepEqual(run.resources, [], "nothing is created on bad input");
});

test("an instance type override with at least the tier's vCPUs and memory is taken", () => {
    const { target, errors } = validate({ instanceType: "m7i.xlarge" }, { size: "medium" });
    assert.deepEqual(errors, []);
    assert.deepEqual([(target as AwsTarget).instanceType, (target as AwsTarget).nitro], ["m7i.xlarge", true]);
});

test("the example AWS stack file is a valid configuration", () => {
    const doc = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.aws-example.yaml"), "utf8")) as { config: Record<string, unknown> };
    const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^etcd-cluster:/, ""), v]));
    const { errors, target } = validateConfig(raw, { sshKeySet: false });
    assert.deepEqual(errors, []);
    assert.equal(target?.kind, "aws");
});
