import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsTarget } from "./config";
import { VolumeSpec } from "./volumes";

/** A member's data and WAL volumes, attached to its instance, and the stable device paths they appear under. */

export const DISKS = { data: "/dev/sdf", wal: "/dev/sdg" } as const;

/**
 * Where an attached EBS volume appears on the instance. On Nitro instances EBS volumes are NVMe devices whose serial
 * number is the volume id without its dash, so udev links them as
 * /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123... (Amazon EC2 User Guide, "Amazon EBS and NVMe": "The EBS
 * volume ID is the serial number of the device"). On Xen instances (m4) the kernel's blkfront driver names the device
 * after the attachment's device name, /dev/sdf becoming /dev/xvdf (EC2 User Guide, "Device names on Linux instances").
 */
export function ebsDevicePath(volumeId: string, deviceName: string, nitro: boolean): string {
    if (nitro) return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
    return deviceName.replace(/^\/dev\/sd/, "/dev/xvd");
}

/**
 * Options for the volumes: protected, so no update can delete or replace them (a change that would, such as another
 * zone or KMS key, fails instead of losing data; `pulumi destroy` needs `pulumi state unprotect` first). They are
 * separate resources from the instance, so replacing the instance never touches them.
 */
export function volumeOptions(parent?: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, protect: true };
}

/**
 * Options for the attachments (pulumi-aws #2769: the engine replaces create-before-delete, and attaching to the new
 * instance fails while the volume is still attached to the old one). Delete before replace detaches first; stopping
 * the instance before detaching lets its OS stop etcd and unmount cleanly instead of losing the disk under it.
 */
export function attachmentOptions(parent?: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, deleteBeforeReplace: true };
}

export function memberVolume(name: string, role: keyof typeof DISKS, spec: VolumeSpec, zone: string, target: AwsTarget, parent?: pulumi.Resource): aws.ebs.Volume {
    return new aws.ebs.Volume(`${name}-${role}`, {
        region: target.region,
        availabilityZone: zone,
        type: spec.type,
        size: spec.sizeGiB,
        iops: spec.iops,
        throughput: spec.throughput,
        encrypted: true,
        kmsKeyId: target.kmsKeyId,
        tags: { Name: `${name}-${role}` },
    }, volumeOptions(parent));
}

export function attachVolume(name: string, role: keyof typeof DISKS, volume: aws.ebs.Volume, instance: aws.ec2.Instance, target: AwsTarget, parent?: pulumi.Resource): aws.ec2.VolumeAttachment {
    return new aws.ec2.VolumeAttachment(`${name}-${role}-attachment`, {
        region: target.region,
        deviceName: DISKS[role],
        volumeId: volume.id,
        instanceId: instance.id,
        stopInstanceBeforeDetaching: true,
    }, attachmentOptions(parent));
}
