import * as pulumi from "@pulumi/pulumi";
import { BOOT_DIAL } from "../cloud/boot";
import { machineHostKey } from "../cloud/hostKey";
import { spreadAcrossZones } from "../cloud/zones";
import { Machine } from "../machine";
import { AwsTarget } from "./config";
import { attachVolume, ebsDevicePath, DISKS, memberVolume } from "./disks";
import { memberInstance } from "./instance";
import { loginKey } from "./loginKey";
import { memberInterface, membersSecurityGroup } from "./network";

export interface AwsMachinesArgs {
    /** Member names, in restart order. */
    names: string[];
    /** Port etcd is downloaded from, undefined for offline installs. */
    downloadPort: number | undefined;
    /** Logs in to the bastion, and to members with `aws.keyPair`. */
    sshPrivateKey?: pulumi.Input<string>;
    /** Prefix of shared resources (security group, login key). */
    prefix: string;
}

/**
 * One EC2 machine per member: a fixed network interface in its zone's subnet, an instance with a program-made SSH
 * host key, and encrypted data and WAL volumes that outlive any instance. Nothing here knows about etcd.
 */
export function awsMachines(target: AwsTarget, args: AwsMachinesArgs): Machine[] {
    const securityGroup = membersSecurityGroup(args.prefix, target, args.downloadPort);
    const login = loginKey(args.prefix, target, args.sshPrivateKey);
    const subnets = spreadAcrossZones(args.names.length, target.subnets);
    return args.names.map((name, i) => {
        const subnet = subnets[i];
        const eni = memberInterface(name, target, subnet.id, securityGroup);
        const hostKey = machineHostKey(name);
        const data = memberVolume(name, "data", target.data, subnet.zone, target);
        const wal = memberVolume(name, "wal", target.wal, subnet.zone, target);
        let release: (after: pulumi.Resource[]) => void = () => undefined;
        const after = new Promise<pulumi.Resource[]>((resolve) => { release = resolve; });
        const instance = memberInstance(name, target, { networkInterface: eni, keyName: login.keyName, userData: hostKey.userData, after });
        const attachments = [attachVolume(name, "data", data, instance, target), attachVolume(name, "wal", wal, instance, target)];
        const proxy = target.bastion && {
            host: target.bastion.host, port: target.bastion.port, user: target.bastion.user, hostKey: target.bastion.hostKey,
            privateKey: args.sshPrivateKey!, ...BOOT_DIAL,
        };
        return {
            name,
            address: eni.privateIp,
            user: target.user,
            connection: { host: eni.privateIp, port: 22, user: target.user, privateKey: login.privateKey, hostKey: hostKey.publicKey, ...BOOT_DIAL, ...(proxy ? { proxy } : {}) },
            // A new instance, or the same one restarted with another type, gets every step again (and is waited for).
            identity: pulumi.interpolate`${instance.id} ${instance.instanceType}`,
            dataDevice: data.id.apply((id) => ebsDevicePath(id, DISKS.data, target.nitro)),
            walDevice: wal.id.apply((id) => ebsDevicePath(id, DISKS.wal, target.nitro)),
            dependsOn: [instance, ...attachments, securityGroup],
            holdChangesUntil: (previous) => release(previous ? [previous] : []),
        };
    });
}
