import * as pulumi from "@pulumi/pulumi";
import { cloudConnection } from "../cloud/connection";
import { heldChanges } from "../cloud/holdChanges";
import { machineHostKey } from "../cloud/hostKey";
import { spreadAcrossZones } from "../cloud/zones";
import { Machine, OutboundPort } from "../machine";
import { GcpTarget } from "./config";
import { attachedDisks, DEVICE_NAMES, gceDevicePath, memberDisk } from "./disks";
import { firstBootCloudConfig } from "./firstBoot";
import { memberInstance } from "./instance";
import { loginKey } from "./loginKey";
import { firewallRules, gceName, memberAddress, memberTag, membersFirewall } from "./network";

export interface GcpMachinesArgs {
    /** Member names, in restart order. */
    names: string[];
    /** Ports members must reach on any address (egress); nothing else leaves the members. */
    outboundPorts: OutboundPort[];
    /** Logs in to the bastion, and to members with `gcp.loginPublicKey`. */
    sshPrivateKey?: pulumi.Input<string>;
    /** Prefix of shared resources (firewall rules, network tag, login key). */
    prefix: string;
    /** A service account for the members (the backup writer's, see components/backup/gcsStore.ts). */
    serviceAccountEmail?: pulumi.Input<string>;
}

/**
 * One Compute Engine machine per member: a reserved internal address in the subnetwork, an instance in its zone with
 * a program-made SSH host key, and data and WAL persistent disks that outlive any instance. Nothing here knows
 * about etcd.
 */
export function gcpMachines(target: GcpTarget, args: GcpMachinesArgs): Machine[] {
    const prefix = gceName(args.prefix);
    const tag = memberTag(prefix);
    const login = loginKey(prefix, target, args.sshPrivateKey);
    const firstBoot = pulumi.output(login.publicKey).apply((key) => firstBootCloudConfig(target.user, key));
    const zones = spreadAcrossZones(args.names.length, target.zones);
    const addresses = args.names.map((name) => memberAddress(name, target));
    const firewall = membersFirewall(prefix, target, firewallRules(target, tag, addresses.map((a) => a.address), args.outboundPorts));
    return args.names.map((name, i) => {
        const zone = zones[i];
        const address = addresses[i];
        const hostKey = machineHostKey(name, undefined, firstBoot);
        const disks = { data: memberDisk(name, "data", target.data, zone, target), wal: memberDisk(name, "wal", target.wal, zone, target) };
        const { after, holdChangesUntil } = heldChanges();
        const instance = memberInstance(name, target, { zone, address, attachedDisks: attachedDisks(disks), tag, userData: hostKey.userData, after, serviceAccountEmail: args.serviceAccountEmail });
        return {
            name,
            address: address.address,
            user: target.user,
            connection: cloudConnection({ host: address.address, user: target.user, privateKey: login.privateKey, hostKey: hostKey.publicKey, bastion: target.bastion, bastionKey: args.sshPrivateKey }),
            // A new instance, or the same one restarted with another machine type, gets every step again (and is waited for).
            identity: pulumi.interpolate`${instance.instanceId} ${instance.machineType}`,
            dataDevice: gceDevicePath(DEVICE_NAMES.data),
            walDevice: gceDevicePath(DEVICE_NAMES.wal),
            dependsOn: [instance, disks.data, disks.wal, ...firewall],
            holdChangesUntil,
        };
    });
}
