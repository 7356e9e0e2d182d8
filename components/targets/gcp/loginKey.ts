import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { GcpTarget } from "./config";

/** The key members are logged in to with: a generated ED25519 key, or the user's own (gcp.loginPublicKey). */
export interface LoginKey { publicKey: pulumi.Input<string>; privateKey: pulumi.Input<string> }

export function loginKey(name: string, target: GcpTarget, sshPrivateKey: pulumi.Input<string> | undefined, parent?: pulumi.Resource): LoginKey {
    if (target.loginPublicKey) {
        if (sshPrivateKey === undefined) throw new Error("gcp.loginPublicKey needs sshPrivateKey (checked with the config)");
        return { publicKey: target.loginPublicKey, privateKey: sshPrivateKey };
    }
    const key = new tls.PrivateKey(`${name}-login-key`, { algorithm: "ED25519" }, { parent });
    return { publicKey: key.publicKeyOpenssh.apply((k) => k.trim()), privateKey: key.privateKeyOpenssh };
}
