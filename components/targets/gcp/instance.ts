import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { GcpTarget } from "./config";
import { ACCESS_METADATA } from "./firstBoot";

/**
 * Options for a member's instance. Delete before replace: the member's reserved address and read-write disks can
 * belong to one instance at a time, so a replacement created first could take neither. `after` is the previous
 * member's last step: the SDK registers the instance only once that step has finished, so the engine replaces (new
 * image) or stops and restarts (new machine type, allowStoppingForUpdate) one member's instance at a time, each
 * after the member before it is healthy again.
 */
export function instanceOptions(after: pulumi.Input<pulumi.Resource[]>, parent?: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, deleteBeforeReplace: true, dependsOn: after };
}

export function memberInstance(name: string, target: GcpTarget, args: {
    zone: string;
    address: gcp.compute.Address;
    attachedDisks: pulumi.Input<gcp.types.input.compute.InstanceAttachedDisk>[];
    tag: string;
    userData: pulumi.Input<string>;
    after: pulumi.Input<pulumi.Resource[]>;
    serviceAccountEmail?: pulumi.Input<string>;
}, parent?: pulumi.Resource): gcp.compute.Instance {
    return new gcp.compute.Instance(`${name}-instance`, {
        project: target.project,
        zone: args.zone,
        machineType: target.machineType,
        // A new machine type stops and starts the instance in place; without this the provider refuses the change.
        allowStoppingForUpdate: true,
        bootDisk: {
            autoDelete: true,
            initializeParams: { image: target.image, type: "pd-balanced" },
            ...(target.kmsKeyName ? { kmsKeySelfLink: target.kmsKeyName } : {}),
        },
        attachedDisks: args.attachedDisks,
        // No access config: members get no external address.
        networkInterfaces: [{ subnetwork: target.subnetwork, networkIp: args.address.address }],
        tags: [args.tag],
        metadata: { ...ACCESS_METADATA, "user-data": args.userData },
        labels: { "etcd-member": name },
        // The storage scope only lets the account's own IAM roles apply; its one role creates backup objects.
        ...(args.serviceAccountEmail ? { serviceAccount: { email: args.serviceAccountEmail, scopes: ["https://www.googleapis.com/auth/devstorage.read_write"] } } : {}),
    }, instanceOptions(args.after, parent));
}
