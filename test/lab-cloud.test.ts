// The lab's cloud stand-ins, where they decide without a machine: device names in the guest, firewall rules per
// interface or address, and which input changes replace an EC2 or Compute Engine resource.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { awsProviders, ec2DiskDevice, ec2Hostname } from "./lab/cloud-aws";
import { interfaceRuleset } from "./lab/cloud-aws-firewall";
import { addressRuleset } from "./lab/cloud-gcp-firewall";
import { gceDiskDevice, gcpProviders } from "./lab/cloud-gcp";
import { CloudAccount, emptyAccount, GceFirewall } from "./lab/cloud-store";

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

test("a persistent disk appears as sdb, sdc, ... on SCSI machine types and as an NVMe namespace on C3, linked as google-<deviceName> either way", () => {
    assert.deepEqual(gceDiskDevice("n1-standard-2", "etcd-data", 1), {
        node: "/dev/sdb", links: ["/dev/disk/by-id/google-etcd-data", "/dev/disk/by-id/scsi-0Google_PersistentDisk_etcd-data"],
    });
    assert.deepEqual(gceDiskDevice("c3-standard-4", "etcd-wal", 2), { node: "/dev/nvme0n3", links: ["/dev/disk/by-id/google-etcd-wal"] });
});

function gceAccount(): CloudAccount {
    const account = emptyAccount();
    const member = (n: number, tags: string[]) => {
        account.interfaces[`addr-${n}`] = { cloud: "gce", id: `addr-${n}`, subnet: "lab-subnet", address: `10.88.3.1${n}`, host: `gce-${n}`, firewalls: [], instance: `i-${n}` };
        account.instances[`i-${n}`] = { id: `i-${n}`, interface: `addr-${n}`, zone: "europe-west1-b", image: "img", machineType: "n1-standard-2", tags, state: "running" };
    };
    member(1, ["etcd-member"]);
    member(2, ["etcd-member"]);
    member(3, ["client"]);
    return account;
}

const rule = (id: string, r: Partial<GceFirewall>): [string, GceFirewall] => [id, {
    id, network: "lab-vpc", direction: "INGRESS", priority: 1000, action: "allow", protocols: [{ protocol: "tcp", ports: ["2379"] }],
    sourceRanges: [], sourceTags: [], destinationRanges: [], targetTags: ["etcd-member"], disabled: false, ...r,
}];

test("a Compute Engine address's rules are those targeting its instance's tags, lowest priority number first, deny before allow at equal priority", () => {
    const account = gceAccount();
    account.gceFirewalls = Object.fromEntries([
        rule("peers", { protocols: [{ protocol: "tcp", ports: ["2380"] }], sourceTags: ["etcd-member"] }),
        rule("clients", { sourceTags: ["client"], sourceRanges: ["10.88.3.1/32"] }),
        rule("deny-clients", { action: "deny", sourceRanges: ["10.88.3.13/32"] }),
        rule("early", { priority: 10, protocols: [{ protocol: "tcp", ports: ["22"] }], sourceRanges: ["0.0.0.0/0"] }),
        rule("off", { disabled: true, sourceRanges: ["10.0.0.0/8"] }),
        rule("elsewhere", { targetTags: ["client"], sourceRanges: ["10.0.0.0/8"] }),
        rule("deny-egress", { direction: "EGRESS", priority: 65000, action: "deny", protocols: [{ protocol: "all", ports: [] }], destinationRanges: ["0.0.0.0/0"] }),
    ]);
    const input = addressRuleset(account, account.interfaces["addr-1"]).split("chain output")[0].split("\n").filter((l) => /accept$|drop$/.test(l) && !/ct state|iif/.test(l)).map((l) => l.trim());
    assert.deepEqual(input, [
        "meta nfproto ipv4 tcp dport 22 accept",
        "ip saddr { 10.88.3.13/32 } tcp dport 2379 drop",
        "ip saddr { 10.88.3.1/32, 10.88.3.13 } tcp dport 2379 accept",
        "ip saddr { 10.88.3.11, 10.88.3.12 } tcp dport 2380 accept",
    ]);
    const ruleset = addressRuleset(account, account.interfaces["addr-1"]);
    assert.match(ruleset, /hook input priority 0; policy drop;/, "implied deny of ingress");
    assert.match(ruleset, /hook output priority 0; policy accept;[\s\S]*meta nfproto ipv4 drop/, "implied allow of egress, under the deny rule");
    assert.doesNotMatch(addressRuleset(account, account.interfaces["addr-3"]), /dport 2380/, "rules target their tags only");
});

test("Compute Engine stand-ins replace what the google provider replaces: a new boot image or zone replaces an instance, a new machine type or tags do not, nor does a disk's new size", () => {
    const instance = gcpProviders["gcp:compute/instance:Instance"];
    assert.equal(instance.replaces(["bootDisk"]), true);
    assert.equal(instance.replaces(["zone"]), true);
    assert.equal(instance.replaces(["machineType", "tags", "metadata", "attachedDisks", "allowStoppingForUpdate"]), false);
    assert.equal(gcpProviders["gcp:compute/disk:Disk"].replaces(["size", "labels", "provisionedIops"]), false);
    assert.equal(gcpProviders["gcp:compute/disk:Disk"].replaces(["type"]), true);
    assert.equal(gcpProviders["gcp:compute/address:Address"].replaces(["subnetwork"]), true);
    assert.equal(gcpProviders["gcp:compute/firewall:Firewall"].replaces(["sourceRanges", "priority", "allows"]), false);
});
