// The provider stand-ins the lab runtime implements, one per resource type, with the operations the engine calls:
// create, update, delete, and what the provider's diff answers with a replacement.
//
// @pulumi/command 1.2.1 (pulumi-command's provider/pkg/provider/remote): Command and CopyToRemote replace on a
// changed `triggers` (schema replaceOnChanges); any other changed input is an update. Command's update runs `update`,
// or `create` when there is no `update`; its delete runs `delete` (if any) with the stored inputs (the old
// connection, stdin). CopyToRemote's update copies again only when the asset's hash or `remotePath` changed; it has
// no delete (the file stays). @pulumi/tls 5.6.1 (terraform-provider-tls): every input forces a new resource; delete
// only forgets it.

import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { awsProviders } from "./cloud-aws";
import { gcpProviders } from "./cloud-gcp";
import { Inputs, optionalObject, optionalString, requiredString } from "./runtime-inputs";
import { copyToRemote, runRemote, sshConnection } from "./runtime-ssh";
import { StoredResource } from "./runtime-state";
import { certRequest, Generated, locallySignedCert, privateKey, selfSignedCert } from "./runtime-tls";

export interface Provider {
    replaces(changedKeys: string[]): boolean;
    /** `name` is the resource's name, for providers that auto-name what they create as the engine's providers do. */
    create(inputs: Inputs, name: string): Promise<Generated>;
    /** Returns the new outputs; the id stays. */
    update(old: StoredResource, news: Inputs): Promise<Record<string, unknown>>;
    delete(old: StoredResource): Promise<void>;
}

const replacedByTriggers = (changed: string[]) => changed.includes("triggers");

function tls(generate: (inputs: Inputs) => Generated | Promise<Generated>): Provider {
    return {
        replaces: () => true,
        create: async (inputs) => generate(inputs),
        update: () => Promise.reject(new Error("tls resources are never updated in place")),
        delete: async () => undefined,
    };
}

const command: Provider = {
    replaces: replacedByTriggers,
    create: async (inputs) => ({ id: randomId(), outputs: await run(inputs, optionalString(inputs, "create")) }),
    update: (_old, news) => run(news, optionalString(news, "update") ?? optionalString(news, "create")),
    delete: async (old) => {
        await run(old.inputs, optionalString(old.inputs, "delete"));
    },
};

const copy: Provider = {
    replaces: replacedByTriggers,
    create: async (inputs) => {
        await copyFile(inputs);
        return { id: randomId(), outputs: {} };
    },
    update: async (old, news) => {
        const source = (inputs: Inputs) => canonicalAsset(inputs.source);
        if (source(old.inputs).sha256 !== source(news).sha256 || old.inputs.remotePath !== news.remotePath) await copyFile(news);
        return {};
    },
    delete: async () => undefined,
};

export const providers: Record<string, Provider> = {
    "tls:index/privateKey:PrivateKey": tls(privateKey),
    "tls:index/selfSignedCert:SelfSignedCert": tls(selfSignedCert),
    "tls:index/certRequest:CertRequest": tls(certRequest),
    "tls:index/locallySignedCert:LocallySignedCert": tls(locallySignedCert),
    "command:remote:Command": command,
    "command:remote:CopyToRemote": copy,
    ...awsProviders,
    ...gcpProviders,
};

async function run(inputs: Inputs, text: string | undefined): Promise<Record<string, string>> {
    const environment = optionalObject(inputs, "environment") ?? {};
    const variable = Object.keys(environment)[0];
    if (variable !== undefined) {
        // What the provider reports against an sshd without a matching AcceptEnv, which is every default sshd.
        throw new Error(`could not set environment variable "${variable}": ssh: setenv failed (pass values on stdin)`);
    }
    if (text === undefined) return { stdout: "", stderr: "" };
    const connection = sshConnection(optionalObject(inputs, "connection") ?? {});
    const result = await runRemote(connection, text, optionalString(inputs, "stdin") ?? "");
    if (result.exitCode !== 0) {
        throw new Error(`Process exited with status ${result.exitCode}: running ${JSON.stringify(text)}:\n${result.combined}`);
    }
    // The provider drops one final newline from each stream.
    return { stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
}

// A file asset as the lab stores it: its path and the hash of its content, which is what the engine compares.
export interface StoredAsset {
    fileAsset: string;
    sha256: string;
}

function canonicalAsset(value: unknown): StoredAsset {
    const asset = value as Partial<StoredAsset> | undefined;
    if (typeof asset?.fileAsset !== "string" || typeof asset.sha256 !== "string") {
        // CopyToRemote takes path-based sources; the lab implements files (FileAsset) only.
        throw new Error("source must be a FileAsset (the lab runtime copies single files)");
    }
    return asset as StoredAsset;
}

export async function storedAsset(path: string): Promise<StoredAsset> {
    return { fileAsset: path, sha256: createHash("sha256").update(await readFile(path)).digest("hex") };
}

async function copyFile(inputs: Inputs): Promise<void> {
    const source = canonicalAsset(inputs.source);
    await copyToRemote(sshConnection(optionalObject(inputs, "connection") ?? {}), source.fileAsset, requiredString(inputs, "remotePath"));
}

function randomId(): string {
    return randomBytes(8).toString("hex");
}
