import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as tls from "@pulumi/tls";
import { AwsTarget } from "./config";

/** The key members are logged in to with: a generated ED25519 key registered as an EC2 key pair, or the user's own. */
export interface LoginKey { keyName: pulumi.Input<string>; privateKey: pulumi.Input<string> }

export function loginKey(name: string, target: AwsTarget, sshPrivateKey: pulumi.Input<string> | undefined, parent?: pulumi.Resource): LoginKey {
    if (target.keyPair) {
        if (sshPrivateKey === undefined) throw new Error("aws.keyPair needs sshPrivateKey (checked with the config)");
        return { keyName: target.keyPair, privateKey: sshPrivateKey };
    }
    const key = new tls.PrivateKey(`${name}-login-key`, { algorithm: "ED25519" }, { parent });
    const pair = new aws.ec2.KeyPair(`${name}-login`, { region: target.region, publicKey: key.publicKeyOpenssh, tags: { Name: `${name}-login` } }, { parent });
    return { keyName: pair.keyName, privateKey: key.privateKeyOpenssh };
}
