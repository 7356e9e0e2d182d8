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

/** `more`: further cloud-config lines of the machine's first boot (a login user, files), after the host key. */
export function machineHostKey(name: string, parent?: pulumi.Resource, more: pulumi.Input<string[]> = []): MachineHostKey {
    const key = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent });
    const publicKey = key.publicKeyOpenssh.apply((k) => k.trim());
    return {
        publicKey,
        userData: pulumi.secret(pulumi.all([key.privateKeyOpenssh, publicKey, more]).apply(([priv, pub, lines]) => hostKeyCloudConfig(priv, pub, lines))),
    };
}

/**
 * cloud-config for cloud-init's ssh module (docs.cloud-init.io, "SSH" module: ssh_keys, ssh_deletekeys): the image's
 * own host keys are deleted and ours is the only one; with ssh_keys given, the module generates none (cc_ssh.py
 * reads ssh_genkeytypes only without ssh_keys, and its schema refuses an empty list). cloud-init runs before sshd at
 * first boot, so sshd never answers with another key.
 */
export function hostKeyCloudConfig(privateKeyOpenssh: string, publicKeyLine: string, more: string[] = []): string {
    const indented = privateKeyOpenssh.trim().split("\n").map((l) => `    ${l}`).join("\n");
    return [
        "#cloud-config",
        "ssh_deletekeys: true",
        "ssh_keys:",
        "  ed25519_private: |",
        indented,
        `  ed25519_public: ${publicKeyLine.trim()}`,
        ...more,
        "",
    ].join("\n");
}
