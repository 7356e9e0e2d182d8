import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import { HostFile } from "../fileBundle";
import { remoteCommand } from "../scripts/remote";
import { gcsStorePut, GcsStore } from "./gcsStore";
import { hostStorePut, knownHostsLine, renderReceiverScript, renderStoreHostSetupScript } from "./hostStore";
import { BACKUP } from "./layout";
import { s3StorePut, S3Store } from "./s3Store";
import { BackupSettings, hostStoreDescription } from "./settings";

/** What members need to write into a store, whichever it is: the upload function and the files it uses. */
export interface MemberStore {
    description: pulumi.Output<string>;
    /** Bash defining `store_put <tier> <name> <file> <sha256>`. */
    storePut: pulumi.Output<string>;
    /** Files every member gets (not secret). */
    files: HostFile[];
    /** Files every member gets on standard input (credentials). */
    secretFiles?: pulumi.Output<HostFile[]>;
    /** What must exist before a member's first backup. */
    ready: pulumi.Resource[];
}

/**
 * The `host` store: a key made for the members' backups alone (ECDSA P-256: OpenSSH reads the provider's PEM),
 * authorized on the backup host for the receiver only, by a step that logs in there with the stack's SSH key and
 * verifies the backup host's key.
 */
export function hostMemberStore(name: string, settings: BackupSettings, stack: string, sshPrivateKey: pulumi.Input<string>, parent?: pulumi.Resource): MemberStore {
    if (settings.store.kind !== "host") throw new Error("hostMemberStore needs a host store");
    const { host, directory } = settings.store;
    const key = new tls.PrivateKey(`${name}-backup-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
    const setup = new command.remote.Command(`${name}-backup-store`, {
        connection: { host: host.address, port: host.port, user: host.user, privateKey: sshPrivateKey, hostKey: host.hostKey, dialErrorLimit: 10, perDialTimeout: 15 },
        create: key.publicKeyOpenssh.apply((memberKey) => remoteCommand(renderStoreHostSetupScript({
            directory, stack, retention: settings.retention, memberKey, receiver: renderReceiverScript({ directory }),
        }), { user: host.user, label: `backup store on ${host.address}` })),
    }, { parent });
    return {
        description: pulumi.output(hostStoreDescription(host, directory)),
        storePut: pulumi.output(hostStorePut(host)),
        files: [{ path: BACKUP.knownHosts, mode: "644", owner: "root:root", content: knownHostsLine(host) }],
        secretFiles: pulumi.secret(key.privateKeyPem.apply((pem): HostFile[] => [{ path: BACKUP.sshKey, mode: "600", owner: "root:root", content: pem }])),
        ready: [setup],
    };
}

export function s3MemberStore(store: S3Store, region: string): MemberStore {
    return {
        description: store.bucket.bucket.apply((b) => `s3://${b}/`),
        storePut: store.bucket.bucket.apply((bucket) => s3StorePut({ region, bucket })),
        files: [],
        ready: store.ready,
    };
}

export function gcsMemberStore(store: GcsStore): MemberStore {
    return {
        description: store.bucket.name.apply((b) => `gs://${b}/`),
        storePut: store.bucket.name.apply((bucket) => gcsStorePut({ bucket })),
        files: [],
        ready: store.ready,
    };
}
