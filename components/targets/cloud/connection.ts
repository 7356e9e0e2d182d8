import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Bastion } from "./bastion";
import { BOOT_DIAL } from "./boot";

/**
 * SSH to a cloud machine at its private address: verified by its program-made host key, retried while it boots, and
 * through the bastion when there is one (`bastionKey` logs in to it).
 */
export function cloudConnection(args: {
    host: pulumi.Input<string>;
    user: string;
    privateKey: pulumi.Input<string>;
    hostKey: pulumi.Input<string>;
    bastion?: Bastion;
    bastionKey?: pulumi.Input<string>;
}): command.types.input.remote.ConnectionArgs {
    const b = args.bastion;
    const proxy = b && { host: b.host, port: b.port, user: b.user, hostKey: b.hostKey, privateKey: args.bastionKey!, ...BOOT_DIAL };
    return { host: args.host, port: 22, user: args.user, privateKey: args.privateKey, hostKey: args.hostKey, ...BOOT_DIAL, ...(proxy ? { proxy } : {}) };
}
