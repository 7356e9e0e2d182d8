// The lab plays Compute Engine: provider stand-ins for the gcp resources the program creates, with Compute Engine's
// semantics where the program depends on them, on the same machine side (cloud-machine.ts) and account
// (cloud-store.ts) as the EC2 stand-ins.
//
// - gcp.compute.Address (INTERNAL): a reserved address in the lab's /24 (every subnetwork the lab knows is that /24),
//   in a network namespace of its own that the instance using it boots in; it outlives instances.
// - gcp.compute.Firewall: a rule in the account; loaded as nftables into the namespace of every instance it applies to
//   (cloud-gcp-firewall.ts: target and source tags, priorities, allow and deny).
// - gcp.compute.Disk: a sparse file of the disk's size (no IOPS or throughput limits, no encryption).
// - gcp.compute.Instance: a lab host booted from the lab image at its reserved address, its attachedDisks plugged in as
//   the guest sees them (gceDiskDevice), its `user-data` metadata handed to cloud-init (NoCloud seed, standing in for
//   cloud-init's GCE datasource reading the metadata server). Every image the lab registers boots the lab image.
//   Deleting it deletes its boot disk and detaches the attached disks, which are kept.
// Disks attach through the instance's attachedDisks, as the program attaches them; gcp.compute.AttachedDisk, which it
// does not use, is not implemented (the runtime refuses it by name).
// Which input changes replace a resource follows the google provider's schema (ForceNew in terraform-provider-google:
// e.g. google_compute_instance: name, zone, boot_disk; google_compute_disk: name, zone, type, description; the
// lab also replaces an instance on any change of its network interface, whose parts the provider updates in place
// only in some cases).

import { randomBytes, randomInt } from "node:crypto";
import { addressRuleset } from "./cloud-gcp-firewall";
import { CloudInstance, CloudStore, GceFirewall, labCloud } from "./cloud-store";
import {
    DeviceOf, GuestDevice, attachDisk, attachedTo, closeInterface, createDisk, detachDisk, freeAddress, openInterface, removeDisk, resizeDisk,
    startInstance, stopInstance, syncFirewalls, terminateInstance,
} from "./cloud-machine";
import { hostAddress } from "./netns";
import { Inputs, optionalBoolean, optionalNumber, optionalObject, optionalString, requiredString, stringList } from "./runtime-inputs";
import type { Provider } from "./runtime-providers";

/**
 * Machine series whose disks are NVMe namespaces (Compute Engine "About machine series": C3, C3D, C4, N4, H3, M3, Z3,
 * A3 and T2A use NVMe); the others attach disks over virtio-scsi.
 */
const NVME_SERIES = /^(c3|c3d|c4|c4a|c4d|n4|h3|m3|z3|a3|t2a)-/;

/**
 * The device an attached persistent disk is on the instance. SCSI: sdb, sdc, ... in attachment order after the boot
 * disk's sda; NVMe: namespaces nvme0n2, nvme0n3, ... after the boot disk's nvme0n1. Kernel names depend on order, so
 * Google's guest environment udev rules link /dev/disk/by-id/google-<deviceName>, and on SCSI the standard rules also
 * link scsi-0Google_PersistentDisk_<deviceName> (Compute Engine "Persistent disk device names").
 */
export function gceDiskDevice(machineType: string, deviceName: string, slot: number): GuestDevice {
    const google = `/dev/disk/by-id/google-${deviceName}`;
    if (NVME_SERIES.test(machineType)) return { node: `/dev/nvme0n${slot + 1}`, links: [google] };
    if (slot > 25) throw new Error(`the lab names SCSI disks sdb to sdz only, not attachment ${slot}`);
    return { node: `/dev/sd${String.fromCharCode(97 + slot)}`, links: [google, `/dev/disk/by-id/scsi-0Google_PersistentDisk_${deviceName}`] };
}

const API = "https://www.googleapis.com/compute/v1/";
/** Compute Engine's numeric ids (instanceId, diskId) are 19 digits at most. */
const numericId = () => `${randomInt(1e9, 1e10)}${String(randomInt(0, 1e9)).padStart(9, "0")}`;
const replacedBy = (keys: string[]) => (changed: string[]) => changed.some((k) => keys.includes(k));
const log = (line: string) => process.stderr.write(`  lab gce: ${line}\n`);
const store = labCloud;
const sync = (s: CloudStore) => syncFirewalls(s.account, "gce", (nic) => addressRuleset(s.account, nic));

/** The last part of a name, partial path or selfLink (networks, subnetworks, images are given either way). */
const lastPart = (reference: string) => reference.split("/").pop()!;
/** A resource path from a name, partial path or selfLink: projects/<p>/... */
const resourcePath = (reference: string) => reference.replace(API, "");
/** The name the provider would give: the resource's own, or Pulumi's auto-name (the resource name and 7 hex digits). */
const resourceName = (inputs: Inputs, name: string) => optionalString(inputs, "name") ?? `${name}-${randomBytes(4).toString("hex").slice(0, 7)}`;

function gceError(reason: string, message: string): Error {
    return new Error(`googleapi: Error 400: ${message}, ${reason}`);
}

function knownZone(s: CloudStore, zone: string): string {
    if (!s.account.zones.includes(zone)) throw gceError("invalid", `Invalid value for field 'zone': '${zone}'. Unknown zone (the lab knows ${s.account.zones.join(", ")})`);
    return zone;
}

function objectList(inputs: Inputs, key: string): Inputs[] {
    const value = inputs[key] ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === "object" && v !== null)) throw new Error(`input ${key} must be a list of objects`);
    return value as Inputs[];
}

const address: Provider = {
    replaces: replacedBy(["project", "region", "name", "address", "addressType", "description", "ipVersion", "network", "networkTier", "prefixLength", "purpose", "subnetwork"]),
    create: async (inputs, name) => {
        const s = store();
        if ((optionalString(inputs, "addressType") ?? "EXTERNAL") !== "INTERNAL") throw new Error("the lab reserves internal addresses only (addressType INTERNAL)");
        const region = requiredString(inputs, "region");
        const subnet = s.subnet(lastPart(requiredString(inputs, "subnetwork")));
        if (subnet.zone !== region) throw gceError("invalid", `Invalid value for field 'resource.subnetwork': subnetwork ${subnet.id} is in ${subnet.zone}, not ${region}`);
        const wanted = optionalString(inputs, "address");
        const free = freeAddress(s.account, "IP_SPACE_EXHAUSTED");
        if (wanted !== undefined && (Object.values(s.account.interfaces).some((i) => i.address === wanted) || !Array.from({ length: 200 }, (_, i) => hostAddress(i + 1)).includes(wanted))) {
            throw gceError("invalid", `IP address ${wanted} is taken or outside the lab's subnetwork`);
        }
        const id = `projects/${requiredString(inputs, "project")}/regions/${region}/addresses/${resourceName(inputs, name)}`;
        const nic = await openInterface(s, { cloud: "gce", id, subnet: subnet.id, address: wanted ?? free, firewalls: [] }, () => sync(s));
        return { id, outputs: { address: nic.address, name: lastPart(id), selfLink: `${API}${id}`, users: [] } };
    },
    update: async (old) => old.outputs,
    delete: async (old) => {
        await closeInterface(store(), old.id, (instance) => `googleapi: Error 400: The address resource '${old.id}' is already being used by '${instance}', resourceInUseByAnotherResource`);
    },
};

function firewallRecord(s: CloudStore, id: string, inputs: Inputs): GceFirewall {
    const network = lastPart(requiredString(inputs, "network"));
    if (!s.account.networks.includes(network)) throw gceError("invalid", `Invalid value for field 'resource.network': '${network}'. The referenced network resource cannot be found`);
    for (const key of ["sourceServiceAccounts", "targetServiceAccounts"]) if (stringList(inputs, key).length) throw new Error(`the lab does not emulate ${key} (firewall ${id})`);
    const direction = optionalString(inputs, "direction") ?? "INGRESS";
    if (direction !== "INGRESS" && direction !== "EGRESS") throw gceError("invalid", `Invalid value for field 'resource.direction': '${direction}'`);
    if (direction === "EGRESS" && stringList(inputs, "sourceTags").length) throw gceError("invalid", "Source tags cannot be set when the direction is EGRESS");
    const allows = objectList(inputs, "allows");
    const denies = objectList(inputs, "denies");
    if ((allows.length > 0) === (denies.length > 0)) throw gceError("invalid", `firewall ${id}: exactly one of allows and denies must be given`);
    const priority = optionalNumber(inputs, "priority") ?? 1000;
    if (!Number.isInteger(priority) || priority < 0 || priority > 65535) throw gceError("invalid", `Invalid value for field 'resource.priority': '${priority}'. Must be between 0 and 65535`);
    return {
        id, network, direction, priority,
        action: allows.length ? "allow" : "deny",
        protocols: [...allows, ...denies].map((p) => ({ protocol: requiredString(p, "protocol"), ports: stringList(p, "ports") })),
        sourceRanges: stringList(inputs, "sourceRanges"),
        sourceTags: stringList(inputs, "sourceTags"),
        destinationRanges: stringList(inputs, "destinationRanges"),
        targetTags: stringList(inputs, "targetTags"),
        disabled: optionalBoolean(inputs, "disabled"),
    };
}

const firewall: Provider = {
    replaces: replacedBy(["project", "name", "network", "direction"]),
    create: async (inputs, name) => {
        const s = store();
        const id = `projects/${requiredString(inputs, "project")}/global/firewalls/${resourceName(inputs, name)}`;
        s.account.gceFirewalls[id] = firewallRecord(s, id, inputs);
        sync(s);
        await s.save();
        return { id, outputs: { name: lastPart(id), selfLink: `${API}${id}` } };
    },
    update: async (old, news) => {
        const s = store();
        s.account.gceFirewalls[old.id] = firewallRecord(s, old.id, news);
        sync(s);
        await s.save();
        return old.outputs;
    },
    delete: async (old) => {
        const s = store();
        delete s.account.gceFirewalls[old.id];
        sync(s);
        await s.save();
    },
};

const DISK_TYPES = ["pd-standard", "pd-balanced", "pd-ssd", "pd-extreme", "hyperdisk-balanced"];

const disk: Provider = {
    replaces: replacedBy(["project", "zone", "name", "type", "image", "snapshot", "sourceDisk", "diskEncryptionKey", "description", "physicalBlockSizeBytes"]),
    create: async (inputs, name) => {
        const s = store();
        const zone = knownZone(s, requiredString(inputs, "zone"));
        const type = lastPart(optionalString(inputs, "type") ?? "pd-standard");
        if (!DISK_TYPES.includes(type)) throw gceError("invalid", `Invalid value for field 'resource.type': '${type}'. The referenced diskType resource cannot be found`);
        for (const key of ["image", "snapshot", "sourceDisk"]) if (optionalString(inputs, key) !== undefined) throw new Error(`the lab makes blank disks only, not from ${key}`);
        const sizeGiB = optionalNumber(inputs, "size");
        if (sizeGiB === undefined) throw new Error("the lab needs a blank disk's size (input size, GB)");
        const id = `projects/${requiredString(inputs, "project")}/zones/${zone}/disks/${resourceName(inputs, name)}`;
        await createDisk(s, { id, zone, sizeGiB });
        return { id, outputs: { name: lastPart(id), selfLink: `${API}${id}`, diskId: numericId(), users: [] } };
    },
    update: async (old, news) => {
        const s = store();
        await resizeDisk(s, old.id, optionalNumber(news, "size") ?? s.get("disks", old.id).sizeGiB,
            (current) => `googleapi: Error 400: Invalid value for field 'sizeGb': requested size is smaller than the current size (${current} GB), invalid`);
        return old.outputs;
    },
    delete: async (old) => {
        await removeDisk(store(), old.id, (instance) => `googleapi: Error 400: The disk resource '${old.id}' is already being used by '${instance}', resourceInUseByAnotherResource`);
    },
};

const deviceOf: DeviceOf = (instance, d) => gceDiskDevice(instance.machineType, d.attachment!.deviceName, d.attachment!.slot);

/** A disk the instance may attach read-write: in its zone and on no other instance. */
function attachable(s: CloudStore, record: CloudInstance, source: string, deviceName: string) {
    const found = s.get("disks", resourcePath(source));
    if (found.zone !== record.zone) throw gceError("invalid", `Disk '${found.id}' is in ${found.zone}, not in the instance's zone ${record.zone}`);
    if (found.attachment && found.attachment.instance !== record.id) {
        throw gceError("resourceInUseByAnotherResource", `The disk resource '${found.id}' is already being used by '${found.attachment.instance}'`);
    }
    if (attachedTo(s, record.id).some((d) => d !== found && d.attachment!.deviceName === deviceName)) throw gceError("invalid", `Device name ${deviceName} is already in use on the instance`);
    return found;
}

/** The attachedDisks entries: read-write only (the lab's loop devices are), the device name defaulting to the disk's name. */
function attachments(inputs: Inputs): Array<{ source: string; deviceName: string }> {
    return objectList(inputs, "attachedDisks").map((a) => {
        if ((optionalString(a, "mode") ?? "READ_WRITE") !== "READ_WRITE") throw new Error("the lab attaches disks READ_WRITE only");
        const source = requiredString(a, "source");
        return { source, deviceName: optionalString(a, "deviceName") ?? lastPart(source) };
    });
}

// Metadata that the guest agent acts on, which the lab has none of: refused rather than silently ignored.
const AGENT_METADATA = ["startup-script", "startup-script-url", "shutdown-script", "ssh-keys", "sshKeys"];

function userData(inputs: Inputs): string {
    if (optionalString(inputs, "metadataStartupScript") !== undefined) throw new Error("the lab has no guest agent to run metadataStartupScript; use user-data (cloud-init)");
    const metadata = optionalObject(inputs, "metadata") ?? {};
    const acted = AGENT_METADATA.filter((k) => k in metadata);
    if (acted.length) throw new Error(`the lab has no guest agent: metadata ${acted.join(", ")} would not be acted on`);
    return optionalString(metadata, "user-data") ?? "";
}

function start(s: CloudStore, record: CloudInstance, name: string, inputs: Inputs, fresh: boolean): Promise<void> {
    const nic = s.get("interfaces", record.interface);
    return startInstance(s, record, {
        hostname: name,
        userData: userData(inputs),
        metaData: {
            "instance-id": record.id, "local-hostname": name, "local-ipv4": nic.address, image: record.image,
            "machine-type": record.machineType, zone: record.zone, tags: record.tags ?? [],
        },
    }, fresh, deviceOf);
}

function bootImage(s: CloudStore, inputs: Inputs): string {
    const boot = optionalObject(inputs, "bootDisk");
    const params = boot && optionalObject(boot, "initializeParams");
    const image = params && optionalString(params, "image");
    if (!image) throw new Error("the lab boots instances from bootDisk.initializeParams.image only");
    if (!s.account.images.includes(resourcePath(image))) throw gceError("notFound", `The resource '${image}' was not found`);
    return resourcePath(image);
}

const instance: Provider = {
    replaces: replacedBy(["project", "zone", "name", "bootDisk", "scratchDisks", "networkInterfaces", "metadataStartupScript", "hostname", "reservationAffinity"]),
    create: async (inputs, resource) => {
        const s = store();
        const zone = knownZone(s, requiredString(inputs, "zone"));
        const image = bootImage(s, inputs);
        const interfaces = objectList(inputs, "networkInterfaces");
        if (interfaces.length !== 1) throw new Error("the lab gives an instance exactly one network interface");
        const networkIp = optionalString(interfaces[0], "networkIp");
        if (networkIp === undefined) throw new Error("the lab boots instances at a reserved internal address only (networkInterfaces[0].networkIp)");
        const nic = Object.values(s.account.interfaces).find((i) => i.cloud === "gce" && i.address === networkIp);
        if (!nic) throw new Error(`the lab boots instances at a reserved internal address only; ${networkIp} is not one`);
        const subnetwork = optionalString(interfaces[0], "subnetwork");
        if (subnetwork !== undefined && lastPart(subnetwork) !== nic.subnet) throw gceError("invalid", `IP address ${networkIp} is not in subnetwork ${subnetwork}`);
        if (nic.instance) throw gceError("resourceInUseByAnotherResource", `IP address ${networkIp} is already being used by '${nic.instance}'`);
        userData(inputs);
        const name = resourceName(inputs, resource);
        const record: CloudInstance = {
            id: numericId(), name, interface: nic.id, zone, image,
            machineType: lastPart(requiredString(inputs, "machineType")), tags: stringList(inputs, "tags"), state: "stopped",
        };
        const disks = attachments(inputs).map((a) => ({ disk: attachable(s, record, a.source, a.deviceName), deviceName: a.deviceName }));
        s.account.instances[record.id] = record;
        nic.instance = record.id;
        disks.forEach(({ disk: d, deviceName }, i) => { d.attachment = { instance: record.id, deviceName, slot: i + 1 }; });
        await s.save();
        try {
            sync(s);
            await start(s, record, name, inputs, true);
        } catch (err) {
            // A launch that failed leaves nothing behind: the address is free, the disks are detached.
            await terminateInstance(s, record, deviceOf, log);
            sync(s);
            throw err;
        }
        log(`${name} (${record.id}) running at ${nic.address} (${image}, ${record.machineType})`);
        const id = `projects/${requiredString(inputs, "project")}/zones/${zone}/instances/${name}`;
        return { id, outputs: { name, instanceId: record.id, machineType: record.machineType, selfLink: `${API}${id}`, currentStatus: "RUNNING", tagsFingerprint: randomBytes(8).toString("hex") } };
    },
    // A new machine type stops and starts the instance (when allowed); tags, metadata and disks change in place.
    update: async (old, news) => {
        const s = store();
        const record = s.get("instances", String(old.outputs.instanceId));
        const name = record.name!;
        const machineType = lastPart(requiredString(news, "machineType"));
        userData(news);
        record.tags = stringList(news, "tags");
        sync(s);
        const wanted = attachments(news);
        for (const d of attachedTo(s, record.id).filter((d) => !wanted.some((w) => resourcePath(w.source) === d.id))) await detachDisk(s, record, d, deviceOf);
        for (const w of wanted) {
            const d = attachable(s, record, w.source, w.deviceName);
            if (!d.attachment) await attachDisk(s, record, d, w.deviceName, deviceOf);
        }
        if (machineType !== record.machineType) {
            if (!optionalBoolean(news, "allowStoppingForUpdate")) {
                throw new Error("Changing the machine_type, min_cpu_platform, service_account, enable_display, shielded_instance_config, scheduling.node_affinities or network_interface.[#d].(network/subnetwork/subnetwork_project) or advanced_machine_features on a started instance requires stopping it. To acknowledge this, please set allow_stopping_for_update = true in your config.");
            }
            if (record.state === "running") await stopInstance(s, record, deviceOf, log);
            record.machineType = machineType;
            await start(s, record, name, news, false);
            log(`${name} stopped and started as ${machineType}`);
        }
        await s.save();
        return { ...old.outputs, machineType };
    },
    delete: async (old) => {
        const s = store();
        const record = s.account.instances[String(old.outputs.instanceId)];
        if (!record) return;
        await terminateInstance(s, record, deviceOf, log);
        sync(s);
        log(`${old.outputs.name} deleted; its attached disks are detached and kept`);
    },
};

export const gcpProviders: Record<string, Provider> = {
    "gcp:compute/address:Address": address,
    "gcp:compute/firewall:Firewall": firewall,
    "gcp:compute/disk:Disk": disk,
    "gcp:compute/instance:Instance": instance,
};
