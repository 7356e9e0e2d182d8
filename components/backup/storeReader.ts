import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import { remoteCommand } from "../scripts/remote";
import { bucketStoreRead, gcsReader, s3Reader } from "./bucketReader";
import { GcsStore } from "./gcsStore";
import { hostStoreRead, renderReaderAuthorizeScript, renderReaderRevokeScript } from "./hostReader";
import { knownHostsLine } from "./hostStore";
import { S3Store } from "./s3Store";
import { BackupSettings, hostStoreDescription } from "./settings";

/**
 * What a restore needs to read a snapshot from the backup store, whichever it is: made only while `restoreFrom`
 * names a store snapshot, with rights of its own (read only), never the members' backup credentials (write only).
 */
export interface StoreReader {
    description: pulumi.Output<string>;
    /** Bash defining `store_resolve <latest|path>` (prints `snapshot <path> <sha256>`) and `store_get <path> <file>`; uses "$work". */
    storeRead: pulumi.Output<string>;
    /** The read credentials, secret: the restore steps get them on standard input and keep them in "$work/credentials". */
    credentials: pulumi.Output<string>;
    /** What must exist before a restore step reads. */
    ready: pulumi.Resource[];
}

/**
 * The `host` store: a key made for restores alone (ECDSA P-256, as the members' backup key), authorized on the backup
 * host for the sender only once the store is set up (`after`), and revoked when the restore is removed from the stack.
 */
export function hostStoreReader(name: string, settings: BackupSettings, stack: string, sshPrivateKey: pulumi.Input<string>, after: pulumi.Resource[], parent?: pulumi.Resource): StoreReader {
    if (settings.store.kind !== "host") throw new Error("hostStoreReader needs a host store");
    const { host, directory } = settings.store;
    const key = new tls.PrivateKey(`${name}-restore-reader-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
    const label = `restore key on ${host.address}`;
    const authorize = new command.remote.Command(`${name}-restore-reader`, {
        connection: { host: host.address, port: host.port, user: host.user, privateKey: sshPrivateKey, hostKey: host.hostKey, dialErrorLimit: 10, perDialTimeout: 15 },
        create: key.publicKeyOpenssh.apply((readerKey) => remoteCommand(renderReaderAuthorizeScript({ directory, stack, readerKey }), { user: host.user, label })),
        delete: remoteCommand(renderReaderRevokeScript(stack), { user: host.user, label: `revoke the ${label}` }),
    }, { parent, dependsOn: after });
    return {
        description: pulumi.output(hostStoreDescription(host, directory)),
        storeRead: pulumi.output(hostStoreRead(host, knownHostsLine(host))),
        credentials: pulumi.secret(key.privateKeyPem),
        ready: [authorize],
    };
}

export function s3StoreReader(name: string, store: S3Store, stack: string, region: string, kms: boolean): StoreReader {
    const reader = s3Reader(name, { bucket: store.bucket, stack, region, kms });
    return {
        description: store.bucket.bucket.apply((b) => `s3://${b}/`),
        storeRead: store.bucket.bucket.apply((bucket) => bucketStoreRead({ bucketUrl: `https://${bucket}.s3.${region}.amazonaws.com`, region, stack })),
        credentials: reader.credentials,
        ready: [...store.ready, ...reader.ready],
    };
}

export function gcsStoreReader(name: string, store: GcsStore, stack: string, project?: string): StoreReader {
    const reader = gcsReader(name, { bucket: store.bucket, stack, project });
    return {
        description: store.bucket.name.apply((b) => `gs://${b}/`),
        storeRead: store.bucket.name.apply((bucket) => bucketStoreRead({ bucketUrl: `https://storage.googleapis.com/${bucket}`, region: "auto", stack })),
        credentials: reader.credentials,
        ready: [...store.ready, ...reader.ready],
    };
}
