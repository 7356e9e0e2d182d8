import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "./config";
import { Machine } from "./machine";

/** The `hosts` target: machines that already exist. It creates nothing; it only says how to reach them. */
export function hostMachines(hosts: HostSpec[], sshPrivateKey: pulumi.Input<string>): Machine[] {
    return hosts.map((h) => ({
        name: h.name,
        address: h.address,
        user: h.user,
        connection: { host: h.address, port: h.port, user: h.user, privateKey: sshPrivateKey, dialErrorLimit: 10, perDialTimeout: 15 },
        identity: `${h.user}@${h.address}:${h.port}`,
        dataDevice: h.dataDevice,
        walDevice: h.walDevice,
    }));
}
