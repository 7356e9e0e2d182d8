// The lab plays EC2: provider stand-ins for the aws resources the program creates, with EC2's semantics where the
// program depends on them, on the cloud-neutral machine side of cloud-machine.ts and the account of cloud-store.ts.
//
// - aws.ec2.SecurityGroup: rules in the account; loaded as nftables into every interface in the group.
// - aws.ec2.KeyPair: the public key, by key name; an instance launched with the key name gets it as its login key.
// - aws.ec2.NetworkInterface: a fixed address in the lab's /24 (every subnet the lab knows is that /24), in a network
//   namespace of its own that instances boot in; it outlives them.
// - aws.ec2.Instance: a lab host booted from the lab image in its primary interface's namespace, with the user data
//   and the key pair's public key handed to cloud-init (NoCloud seed, standing in for the instance metadata service).
//   Every AMI the lab registers boots the lab image; meta-data carries the AMI id and instance id.
// - aws.ebs.Volume: a sparse file of the volume's size (no IOPS or throughput limits, no encryption).
// - aws.ec2.VolumeAttachment: the volume's loop device plugged into the running instance under the name the guest
//   sees on EC2 (ec2DiskDevice below).
// Which input changes replace a resource follows the aws provider's schema (ForceNew in the bridged Terraform
// provider; e.g. aws_instance: ami, key_name, network_interface; aws_volume_attachment: all its ids).

import { createHash } from "node:crypto";
import { interfaceRuleset } from "./cloud-aws-firewall";
import { CloudInstance, CloudStore, cloudId, labCloud } from "./cloud-store";
import {
    DeviceOf, GuestDevice, attachDisk, attachedTo, closeInterface, createDisk, detachDisk, freeAddress, openInterface, removeDisk, resizeDisk,
    startInstance, stopInstance, syncFirewalls, terminateInstance,
} from "./cloud-machine";
import { Inputs, optionalBoolean, optionalNumber, optionalObject, optionalString, requiredString, stringList } from "./runtime-inputs";
import type { Provider } from "./runtime-providers";
import { StoredResource } from "./runtime-state";

/**
 * Instance families built on the Xen hypervisor rather than Nitro (Amazon EC2 User Guide, "Instances built on the
 * AWS Nitro System": the previous generations listed there as Xen-based). Everything else is taken as Nitro.
 */
const XEN_FAMILIES = /^(t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4|i2|i3|d2|g2|g3|p2|p3|x1|x1e)\./;

/**
 * The device an attached EBS volume is on the instance. Nitro: an NVMe controller per volume, named by the kernel in
 * the order it finds them (nvme0n1 is the root volume), so the name is not stable; the volume id is the NVMe serial
 * number, and udev's 60-persistent-storage rules link /dev/disk/by-id/nvme-<model>_<serial>, the model being
 * "Amazon Elastic Block Store" (EC2 User Guide, "Amazon EBS and NVMe"). Xen: blkfront names the disk after the
 * attachment's device name, /dev/sdf becoming /dev/xvdf, with no by-id link (EC2 User Guide, "Device names on Linux
 * instances").
 */
export function ec2DiskDevice(instanceType: string, volumeId: string, deviceName: string, nvmeIndex: number): GuestDevice {
    if (XEN_FAMILIES.test(instanceType)) return { node: deviceName.replace(/^\/dev\/(sd|xvd)/, "/dev/xvd"), links: [] };
    return { node: `/dev/nvme${nvmeIndex}n1`, links: [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`] };
}

/** EC2's hostname for an instance named by its address: ip-10-0-0-5 (EC2 User Guide, "EC2 instance hostname types"). */
export function ec2Hostname(address: string): string {
    return `ip-${address.replace(/\./g, "-")}`;
}

const replacedBy = (keys: string[]) => (changed: string[]) => changed.some((k) => keys.includes(k));
const hex = (text: string, digits: number) => createHash("sha256").update(text).digest("hex").slice(0, digits);
const log = (line: string) => process.stderr.write(`  lab ec2: ${line}\n`);

const store = labCloud;

const sync = (s: CloudStore) => syncFirewalls(s.account, "ec2", (nic) => interfaceRuleset(s.account, nic));

/** The rules of an aws.ec2.SecurityGroup's ingress or egress input, checked for what the lab can filter. */
function rules(inputs: Inputs, key: "ingress" | "egress") {
    const list = inputs[key] ?? [];
    if (!Array.isArray(list)) throw new Error(`input ${key} must be a list of rules`);
    return list.map((r: Inputs) => ({
        protocol: requiredString(r, "protocol"), fromPort: optionalNumber(r, "fromPort") ?? 0, toPort: optionalNumber(r, "toPort") ?? 0,
        self: optionalBoolean(r, "self"), cidrBlocks: stringList(r, "cidrBlocks"), ipv6CidrBlocks: stringList(r, "ipv6CidrBlocks"),
        securityGroups: stringList(r, "securityGroups"),
    }));
}

const securityGroup: Provider = {
    replaces: replacedBy(["region", "vpcId", "name", "namePrefix", "description"]),
    create: async (inputs, name) => {
        const s = store();
        const vpc = requiredString(inputs, "vpcId");
        if (!s.account.networks.includes(vpc)) throw new Error(`InvalidVpcID.NotFound: The vpc ID '${vpc}' does not exist`);
        const id = cloudId("sg");
        s.account.firewalls[id] = { id, network: vpc, ingress: rules(inputs, "ingress"), egress: rules(inputs, "egress") };
        sync(s);
        await s.save();
        return { id, outputs: { arn: `arn:aws:ec2:lab:000000000000:security-group/${id}`, name: optionalString(inputs, "name") ?? `${name}-${hex(id, 7)}`, ownerId: "000000000000" } };
    },
    update: async (old, news) => {
        const s = store();
        Object.assign(s.get("firewalls", old.id), { ingress: rules(news, "ingress"), egress: rules(news, "egress") });
        sync(s);
        await s.save();
        return old.outputs;
    },
    delete: async (old) => {
        const s = store();
        const users = Object.values(s.account.interfaces).filter((i) => i.firewalls.includes(old.id));
        if (users.length > 0) throw new Error(`DependencyViolation: resource ${old.id} has a dependent object (${users.map((i) => i.id).join(", ")})`);
        delete s.account.firewalls[old.id];
        await s.save();
    },
};

const keyPair: Provider = {
    replaces: replacedBy(["region", "publicKey", "keyName", "keyNamePrefix"]),
    create: async (inputs, name) => {
        const s = store();
        const keyName = optionalString(inputs, "keyName") ?? `${name}-${hex(requiredString(inputs, "publicKey"), 7)}`;
        if (s.account.keyPairs[keyName]) throw new Error(`InvalidKeyPair.Duplicate: The keypair '${keyName}' already exists`);
        const publicKey = requiredString(inputs, "publicKey").trim();
        s.account.keyPairs[keyName] = publicKey;
        await s.save();
        const blob = Buffer.from(publicKey.split(/\s+/)[1] ?? "", "base64");
        return { id: keyName, outputs: { keyName, keyPairId: cloudId("key"), fingerprint: createHash("sha256").update(blob).digest("base64").replace(/=+$/, ""), arn: `arn:aws:ec2:lab:000000000000:key-pair/${keyName}` } };
    },
    update: async (old) => old.outputs,
    delete: async (old) => {
        const s = store();
        delete s.account.keyPairs[old.id];
        await s.save();
    },
};

function knownGroups(s: CloudStore, ids: string[]): string[] {
    for (const id of ids) if (!s.account.firewalls[id]) throw new Error(`InvalidGroup.NotFound: The security group '${id}' does not exist`);
    return ids;
}

const networkInterface: Provider = {
    replaces: replacedBy(["region", "subnetId", "privateIp", "privateIps", "privateIpList", "interfaceType"]),
    create: async (inputs) => {
        const s = store();
        const subnet = s.subnet(requiredString(inputs, "subnetId"));
        const id = cloudId("eni");
        const address = freeAddress(s.account, "InsufficientFreeAddressesInSubnet");
        await openInterface(s, { cloud: "ec2", id, subnet: subnet.id, address, firewalls: knownGroups(s, stringList(inputs, "securityGroups")) }, () => sync(s));
        return { id, outputs: { privateIp: address, privateIps: [address], privateIpList: [address], macAddress: `02:00:${address.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join(":")}` } };
    },
    update: async (old, news) => {
        const s = store();
        s.get("interfaces", old.id).firewalls = knownGroups(s, stringList(news, "securityGroups"));
        sync(s);
        await s.save();
        return old.outputs;
    },
    delete: async (old) => {
        const s = store();
        await closeInterface(s, old.id, (instance) => `InvalidNetworkInterface.InUse: Interface ${old.id} is in use by ${instance}`);
        sync(s);
    },
};

const volume: Provider = {
    replaces: replacedBy(["region", "availabilityZone", "encrypted", "kmsKeyId", "snapshotId", "outpostArn"]),
    create: async (inputs) => {
        const s = store();
        const zone = requiredString(inputs, "availabilityZone");
        if (!s.account.subnets.some((x) => x.zone === zone)) throw new Error(`InvalidParameterValue: Invalid availability zone: [${zone}]`);
        const sizeGiB = optionalNumber(inputs, "size");
        if (sizeGiB === undefined) throw new Error("MissingParameter: The request must contain the parameter size or snapshotId");
        const id = cloudId("vol");
        await createDisk(s, { id, zone, sizeGiB });
        return { id, outputs: { arn: `arn:aws:ec2:lab:000000000000:volume/${id}` } };
    },
    update: async (old, news) => {
        const s = store();
        await resizeDisk(s, old.id, optionalNumber(news, "size") ?? s.get("disks", old.id).sizeGiB, (current) => `InvalidParameterValue: New size cannot be smaller than existing size (${current} GiB)`);
        return old.outputs;
    },
    delete: async (old) => {
        await removeDisk(store(), old.id, (instance) => `VolumeInUse: Volume ${old.id} is currently attached to ${instance}`);
    },
};

// Where each attached volume goes in the guest; NVMe names by attachment slot, after the root volume's nvme0n1.
const deviceOf: DeviceOf = (instance, disk) => ec2DiskDevice(instance.machineType, disk.id, disk.attachment!.deviceName, disk.attachment!.slot);

function start(s: CloudStore, instance: CloudInstance, userData: string, fresh: boolean, publicKey: string | undefined): Promise<void> {
    const nic = s.get("interfaces", instance.interface);
    const hostname = ec2Hostname(nic.address);
    return startInstance(s, instance, {
        hostname,
        userData,
        metaData: {
            "instance-id": instance.id, "local-hostname": hostname, "local-ipv4": nic.address, "ami-id": instance.image,
            "instance-type": instance.machineType, "availability-zone": instance.zone, ...(publicKey ? { "public-keys": [publicKey] } : {}),
        },
    }, fresh, deviceOf);
}

function launchKey(s: CloudStore, inputs: Inputs): string | undefined {
    const keyName = optionalString(inputs, "keyName");
    if (keyName === undefined) return undefined;
    const key = s.account.keyPairs[keyName];
    if (!key) throw new Error(`InvalidKeyPair.NotFound: The key pair '${keyName}' does not exist`);
    return key;
}

const instance: Provider = {
    replaces: replacedBy(["region", "ami", "availabilityZone", "keyName", "primaryNetworkInterface", "networkInterfaces", "privateIp",
        "subnetId", "tenancy", "placementGroup", "hostId", "rootBlockDevice", "ebsBlockDevices", "ephemeralBlockDevices"]),
    create: async (inputs) => {
        const s = store();
        if (optionalBoolean(inputs, "userDataReplaceOnChange")) throw new Error("the lab does not implement userDataReplaceOnChange (it would replace on new user data)");
        const image = requiredString(inputs, "ami");
        if (!s.account.images.includes(image)) throw new Error(`InvalidAMIID.NotFound: The image id '[${image}]' does not exist`);
        const eniId = optionalObject(inputs, "primaryNetworkInterface")?.networkInterfaceId;
        if (typeof eniId !== "string") throw new Error("the lab launches instances on an existing interface only (primaryNetworkInterface.networkInterfaceId)");
        const nic = s.get("interfaces", eniId);
        if (nic.instance) throw new Error(`InvalidNetworkInterface.InUse: Interface ${eniId} is in use by ${nic.instance}`);
        const publicKey = launchKey(s, inputs);
        const record: CloudInstance = { id: cloudId("i"), interface: eniId, zone: s.subnet(nic.subnet).zone, image, machineType: requiredString(inputs, "instanceType"), state: "stopped" };
        s.account.instances[record.id] = record;
        nic.instance = record.id;
        await s.save();
        try {
            await start(s, record, optionalString(inputs, "userData") ?? "", true, publicKey);
        } catch (err) {
            // A launch that failed leaves nothing behind, so the next run can launch again on the interface.
            await terminateInstance(s, record, deviceOf, log);
            throw err;
        }
        log(`${record.id} running at ${nic.address} (${record.image}, ${record.machineType})`);
        return { id: record.id, outputs: { privateIp: nic.address, primaryNetworkInterfaceId: eniId, availabilityZone: record.zone, instanceState: "running", arn: `arn:aws:ec2:lab:000000000000:instance/${record.id}` } };
    },
    // A new type or new user data stops and starts the instance in place (its root, interface and volumes stay).
    update: async (old, news) => {
        const s = store();
        const record = s.get("instances", old.id);
        const machineType = requiredString(news, "instanceType");
        const userData = optionalString(news, "userData") ?? "";
        if (machineType !== record.machineType || userData !== (optionalString(old.inputs, "userData") ?? "")) {
            if (record.state === "running") await stopInstance(s, record, deviceOf, log);
            record.machineType = machineType;
            await start(s, record, userData, false, launchKey(s, news));
            log(`${record.id} stopped and started as ${machineType}`);
        }
        return old.outputs;
    },
    delete: async (old) => {
        const record = store().account.instances[old.id];
        if (!record) return;
        await terminateInstance(store(), record, deviceOf, log);
        log(`${old.id} terminated; its volumes are detached and kept`);
    },
};

const volumeAttachment: Provider = {
    replaces: replacedBy(["region", "deviceName", "instanceId", "volumeId"]),
    create: async (inputs) => {
        const s = store();
        const deviceName = requiredString(inputs, "deviceName");
        const disk = s.get("disks", requiredString(inputs, "volumeId"));
        const record = s.get("instances", requiredString(inputs, "instanceId"));
        if (disk.attachment) throw new Error(`VolumeInUse: ${disk.id} is already attached to an instance (${disk.attachment.instance})`);
        if (disk.zone !== record.zone) throw new Error(`InvalidVolume.ZoneMismatch: The volume '${disk.id}' is not in the same availability zone as instance '${record.id}'`);
        if (attachedTo(s, record.id).some((d) => d.attachment!.deviceName === deviceName)) throw new Error(`InvalidParameterValue: Attachment point ${deviceName} is already in use`);
        await attachDisk(s, record, disk, deviceName, deviceOf);
        return { id: `vai-${hex(`${deviceName}-${record.id}-${disk.id}`, 10)}`, outputs: {} };
    },
    update: async (old) => old.outputs,
    delete: async (old: StoredResource) => {
        const s = store();
        const disk = s.account.disks[requiredString(old.inputs, "volumeId")];
        const record = s.account.instances[requiredString(old.inputs, "instanceId")];
        // Terminating the instance detached it already.
        if (!disk || !record || disk.attachment?.instance !== record.id || optionalBoolean(old.inputs, "skipDestroy")) return;
        if (record.state === "running" && optionalBoolean(old.inputs, "stopInstanceBeforeDetaching")) await stopInstance(s, record, deviceOf, log);
        await detachDisk(s, record, disk, deviceOf);
    },
};

export const awsProviders: Record<string, Provider> = {
    "aws:ec2/securityGroup:SecurityGroup": securityGroup,
    "aws:ec2/keyPair:KeyPair": keyPair,
    "aws:ec2/networkInterface:NetworkInterface": networkInterface,
    "aws:ec2/instance:Instance": instance,
    "aws:ebs/volume:Volume": volume,
    "aws:ec2/volumeAttachment:VolumeAttachment": volumeAttachment,
};
