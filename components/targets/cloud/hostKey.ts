import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/**
 * An SSH host key the program makes for a cloud machine, installed at first boot through user data, so the very
 * first connection already verifies the machine (no trust on first use).
 */
export interface MachineHostKey {
    /** `ssh-ed25519 AAAA...` without a trailing newline: what connections check. */
    publicKey: pulumi.Output<string>;
    /** cloud-config that installs the key pair as the only host key (secret: it holds the private key). */
    userData: pulumi.Output<string>;
}

export function machineHostKey(name: string, parent?: pulumi.Resource): MachineHostKey {
    const key = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent });
    const publicKey = key.publicKeyOpenssh.apply((k) => k.trim());
    return {
        publicKey,
        userData: pulumi.secret(pulumi.all([key.privateKeyOpenssh, publicKey]).apply(([priv, pub]) => hostKeyCloudConfig(priv, pub))),
    };
}

/**
 * cloud-config for cloud-init's ssh module (docs.cloud-init.io, "SSH" module: ssh_keys, ssh_deletekeys,
 * ssh_genkeytypes): the image's own host keys are deleted, none are generated, and ours is the only one. cloud-init
 * runs before sshd at first boot, so sshd never answers with another key.
 */
export function hostKeyCloudConfig(privateKeyOpenssh: string, publicKeyLine: string): string {
    const indented = privateKeyOpenssh.trim().split("\n").map((l) => `    ${l}`).join("\n");
    return [
        "#cloud-config",
        "ssh_deletekeys: true",
        "ssh_genkeytypes: []",
        "ssh_keys:",
        "  ed25519_private: |",
        indented,
        `  ed25519_public: ${publicKeyLine.trim()}`,
        "",
    ].join("\n");
}
