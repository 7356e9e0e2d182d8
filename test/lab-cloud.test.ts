// The lab's cloud stand-ins, where they decide without a machine: device names in the guest, firewall rules per
// interface, and which input changes replace an EC2 resource.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { awsProviders, ec2DiskDevice, ec2Hostname } from "./lab/cloud-aws";
import { interfaceRuleset } from "./lab/cloud-aws-firewall";
import { emptyAccount } from "./lab/cloud-store";

test("an EBS volume appears as an NVMe device linked by volume id on Nitro types, as xvd<letter> on Xen types", () => {
    assert.deepEqual(ec2DiskDevice("m6i.large", "vol-0123456789abcdef0", "/dev/sdf", 1), {
        node: "/dev/nvme1n1", links: ["/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"],
    });
    assert.deepEqual(ec2DiskDevice("m4.large", "vol-0123456789abcdef0", "/dev/sdg", 2), { node: "/dev/xvdg", links: [] });
    assert.equal(ec2Hostname("10.88.3.11"), "ip-10-88-3-11");
});

test("an interface's firewall admits its group's members for `self` and another group's members by id; an unknown group is refused", () => {
    const account = emptyAccount();
    account.firewalls["sg-members"] = {
        id: "sg-members", network: "vpc-1",
        ingress: [{ protocol: "tcp", fromPort: 2380, toPort: 2380, self: true }, { protocol: "tcp", fromPort: 2379, toPort: 2379, securityGroups: ["sg-clients"] }],
        egress: [{ protocol: "tcp", fromPort: 2379, toPort: 2380, self: true }],
    };
    account.firewalls["sg-clients"] = { id: "sg-clients", network: "vpc-1", ingress: [], egress: [] };
    const nic = (id: string, address: string, firewalls: string[]) => (account.interfaces[id] = { cloud: "ec2", id, subnet: "subnet-1", address, host: id, firewalls });
    const member = nic("eni-1", "10.88.3.11", ["sg-members"]);
    nic("eni-2", "10.88.3.12", ["sg-members"]);
    nic("eni-3", "10.88.3.13", ["sg-clients"]);
    const ruleset = interfaceRuleset(account, member);
    assert.match(ruleset, /ip saddr \{ 10\.88\.3\.11, 10\.88\.3\.12 \} tcp dport 2380 accept/);
    assert.match(ruleset, /ip saddr \{ 10\.88\.3\.13 \} tcp dport 2379 accept/);
    assert.match(ruleset, /ip daddr \{ 10\.88\.3\.11, 10\.88\.3\.12 \} tcp dport 2379-2380 accept/);
    assert.throws(() => interfaceRuleset(account, { ...member, firewalls: ["sg-gone"] }), /sg-gone does not exist/);
});

test("EC2 stand-ins replace what the aws provider replaces: a new image or interface replaces an instance, a new type does not", () => {
    const instance = awsProviders["aws:ec2/instance:Instance"];
    assert.equal(instance.replaces(["ami"]), true);
    assert.equal(instance.replaces(["primaryNetworkInterface"]), true);
    assert.equal(instance.replaces(["instanceType", "userData", "tags"]), false);
    assert.equal(awsProviders["aws:ec2/volumeAttachment:VolumeAttachment"].replaces(["instanceId"]), true);
    assert.equal(awsProviders["aws:ebs/volume:Volume"].replaces(["size", "iops", "throughput"]), false);
    assert.equal(awsProviders["aws:ebs/volume:Volume"].replaces(["availabilityZone"]), true);
});
