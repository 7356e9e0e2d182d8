import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { GcpTarget } from "./config";
import { DiskSpec } from "./diskSpecs";

/** A member's data and WAL persistent disks, and the stable device paths they appear under on its instance. */

/** The device name each disk is attached with: the guest sees it as /dev/disk/by-id/google-<deviceName>. */
export const DEVICE_NAMES = { data: "etcd-data", wal: "etcd-wal" } as const;

/**
 * Where a disk attached with `deviceName` appears: Google's guest environment udev rules link it as
 * /dev/disk/by-id/google-<deviceName> (@pulumi/gcp compute.Instance attachedDisks.deviceName; Compute Engine
 * "Persistent disk device names").
 */
export function gceDevicePath(deviceName: string): string {
    return `/dev/disk/by-id/google-${deviceName}`;
}

/**
 * Options for the disks: protected, so no update can delete or replace them (a change that would, such as another
 * zone, type or key, fails instead of losing data; `pulumi destroy` needs `pulumi state unprotect` first). They are
 * separate resources attached by selfLink, so replacing the instance never deletes them: a disk attached through
 * `attachedDisks` is not auto-deleted with its instance (the provider sets no autoDelete for it, and the Compute
 * Engine API's AttachedDisk.autoDelete defaults to false).
 */
export function diskOptions(parent?: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, protect: true };
}

export function memberDisk(name: string, role: keyof typeof DEVICE_NAMES, spec: DiskSpec, zone: string, target: GcpTarget, parent?: pulumi.Resource): gcp.compute.Disk {
    return new gcp.compute.Disk(`${name}-${role}`, {
        project: target.project,
        zone,
        type: spec.type,
        size: spec.sizeGb,
        provisionedIops: spec.provisionedIops,
        provisionedThroughput: spec.provisionedThroughput,
        diskEncryptionKey: target.kmsKeyName ? { kmsKeySelfLink: target.kmsKeyName } : undefined,
        description: `etcd member ${name}: ${role === "data" ? "data directory" : "write-ahead log"}`,
        labels: { "etcd-member": name, "etcd-role": role },
    }, diskOptions(parent));
}

/**
 * The instance's attachedDisks entries: by selfLink (a name would never settle in the diff), read-write. The disks
 * carry their own encryption key; the attachment names none.
 */
export function attachedDisks(disks: Record<keyof typeof DEVICE_NAMES, gcp.compute.Disk>) {
    return (Object.keys(DEVICE_NAMES) as Array<keyof typeof DEVICE_NAMES>).map((role) => ({
        source: disks[role].selfLink,
        deviceName: DEVICE_NAMES[role],
        mode: "READ_WRITE",
    }));
}
