import * as pulumi from "@pulumi/pulumi";
import { cloudConnection } from "../cloud/connection";
import { heldChanges } from "../cloud/holdChanges";
import { machineHostKey } from "../cloud/hostKey";
import { spreadAcrossZones } from "../cloud/zones";
import { Machine, OutboundPort } from "../machine";
import { AwsTarget } from "./config";
import { attachVolume, ebsDevicePath, DISKS, memberVolume } from "./disks";
import { memberInstance } from "./instance";
import { loginKey } from "./loginKey";
import { memberInterface, membersSecurityGroup } from "./network";

export interface AwsMachinesArgs {
    /** Member names, in restart order. */
    names: string[];
    /** Ports members must reach on any address (egress); nothing else leaves the members. */
    outboundPorts: OutboundPort[];
    /** Logs in to the bastion, and to members with `aws.keyPair`. */
    sshPrivateKey?: pulumi.Input<string>;
    /** Prefix of shared resources (security group, login key). */
    prefix: string;
    /** An IAM instance profile for the members (the backup writer's, see components/backup/s3Store.ts). */
    instanceProfile?: pulumi.Input<string>;
}

/**
 * One EC2 machine per member: a fixed network interface in its zone's subnet, an instance with a program-made SSH
 * host key, and encrypted data and WAL volumes that outlive any instance. Nothing here knows about etcd.
 */
export function awsMachines(target: AwsTarget, args: AwsMachinesArgs): Machine[] {
    const securityGroup = membersSecurityGroup(args.prefix, target, args.outboundPorts);
    const login = loginKey(args.prefix, target, args.sshPrivateKey);
    const subnets = spreadAcrossZones(args.names.length, target.subnets);
    return args.names.map((name, i) => {
        const subnet = subnets[i];
        const eni = memberInterface(name, target, subnet.id, securityGroup);
        const hostKey = machineHostKey(name);
        const data = memberVolume(name, "data", target.data, subnet.zone, target);
        const wal = memberVolume(name, "wal", target.wal, subnet.zone, target);
        const { after, holdChangesUntil } = heldChanges();
        const instance = memberInstance(name, target, { networkInterface: eni, keyName: login.keyName, userData: hostKey.userData, after, instanceProfile: args.instanceProfile });
        const attachments = [attachVolume(name, "data", data, instance, target), attachVolume(name, "wal", wal, instance, target)];
        return {
            name,
            address: eni.privateIp,
            user: target.user,
            connection: cloudConnection({ host: eni.privateIp, user: target.user, privateKey: login.privateKey, hostKey: hostKey.publicKey, bastion: target.bastion, bastionKey: args.sshPrivateKey }),
            // A new instance, or the same one restarted with another type, gets every step again (and is waited for).
            identity: pulumi.interpolate`${instance.id} ${instance.instanceType}`,
            dataDevice: data.id.apply((id) => ebsDevicePath(id, DISKS.data, target.nitro)),
            walDevice: wal.id.apply((id) => ebsDevicePath(id, DISKS.wal, target.nitro)),
            dependsOn: [instance, ...attachments, securityGroup],
            holdChangesUntil,
        };
    });
}
