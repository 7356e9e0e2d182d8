// The lab runtime: a test stand-in for the Pulumi engine and the tls and command providers, plugged in through the
// SDK's mocks (pulumi.runtime.setMocks), so the real program deploys onto real hosts without the Pulumi CLI.
//
// What it does: the SDK registers resources in dependency order and awaits each registration, so every resource is
// simply created, for real: tls keys and certificates with Node's crypto and openssl (runtime-tls.ts), remote commands
// and file copies over OpenSSH (runtime-ssh.ts). Keys and certificates are kept in a state file (runtime-state.ts)
// under type and name plus a hash of their inputs, so a re-run reuses them byte for byte; commands are never
// cached: every run runs every command, and the program's convergent scripts decide on the host what to do.
//
// What it does not do: there is no previous state for commands, so no diff, no update, no delete, no replacement;
// every Command runs its `create` (`update`, `delete` and `triggers` are ignored). Mocks do not see resource options
// (deleteBeforeReplace, replaceOnChanges, ignoreChanges, parent, customTimeouts), hooks or transforms. Resources are
// told apart by type and name only (mocks get no URN). Invokes and any other resource type fail loudly. Secret outputs
// are not marked secret. After the first failure, resources still to be registered are skipped, as the engine stops
// starting new steps; commands already running finish.

import { createHash, randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Inputs, optionalObject, optionalString, requiredString } from "./runtime-inputs";
import { copyToRemote, runRemote, sshConnection } from "./runtime-ssh";
import { LabState } from "./runtime-state";
import { certRequest, Generated, locallySignedCert, privateKey, selfSignedCert } from "./runtime-tls";

export interface ResourceFailure {
    resource: string;
    error: Error;
}

const tlsResources: Record<string, (inputs: Inputs) => Generated | Promise<Generated>> = {
    "tls:index/privateKey:PrivateKey": privateKey,
    "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
    "tls:index/certRequest:CertRequest": certRequest,
    "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
};

export class LabRuntime implements pulumi.runtime.Mocks {
    readonly failures: ResourceFailure[] = [];
    readonly skipped: string[] = [];
    private readonly generatedThisRun = new Set<string>();

    constructor(
        private readonly state: LabState,
        private readonly log: (line: string) => void = () => undefined,
    ) {}

    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        if (!args.custom) return { id: undefined, state: {} }; // components: the SDK itself records their outputs
        const label = `${args.type} ${args.name}`;
        if (this.failures.length > 0) {
            this.skipped.push(label);
            throw new Error(`${label}: skipped after an earlier failure`);
        }
        const started = Date.now();
        const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
        try {
            const inputs = unwrapSecrets(args.inputs) as Inputs;
            const result = await this.create(args.type, args.name, inputs);
            this.log(`${result.reused ? "=" : "+"} ${label} ${seconds()}`);
            return { id: result.id, state: { ...inputs, ...result.outputs } };
        } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            this.failures.push({ resource: label, error });
            this.log(`! ${label} ${seconds()}`);
            throw new Error(`${label}: ${error.message}`);
        }
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`lab runtime does not implement the function ${args.token}`);
    }

    private async create(type: string, name: string, inputs: Inputs): Promise<Generated & { reused: boolean }> {
        const generate = tlsResources[type];
        if (generate) return this.reuseOrGenerate(type, name, inputs, generate);
        switch (type) {
            case "command:remote:Command":
                return { id: randomId(), outputs: await runCommand(inputs), reused: false };
            case "command:remote:CopyToRemote":
                await copy(inputs);
                return { id: randomId(), outputs: {}, reused: false };
            default:
                throw new Error(`lab runtime does not implement ${type}`);
        }
    }

    private async reuseOrGenerate(
        type: string,
        name: string,
        inputs: Inputs,
        generate: (inputs: Inputs) => Generated | Promise<Generated>,
    ): Promise<Generated & { reused: boolean }> {
        const key = `${type}::${name}`;
        // Two resources under one key would overwrite each other's keys on every run.
        if (this.generatedThisRun.has(key)) throw new Error(`lab runtime needs unique names per type: ${key} is taken`);
        this.generatedThisRun.add(key);
        const inputsHash = createHash("sha256").update(canonicalJson(inputs)).digest("hex");
        const stored = this.state.get(key);
        if (stored?.inputsHash === inputsHash) return { id: stored.id, outputs: stored.outputs, reused: true };
        const generated = await generate(inputs);
        await this.state.put(key, { inputsHash, ...generated });
        return { ...generated, reused: false };
    }
}

async function runCommand(inputs: Inputs): Promise<Record<string, string>> {
    const environment = optionalObject(inputs, "environment") ?? {};
    const variable = Object.keys(environment)[0];
    if (variable !== undefined) {
        // What the provider reports against an sshd without a matching AcceptEnv, which is every default sshd.
        throw new Error(`could not set environment variable "${variable}": ssh: setenv failed (pass values on stdin)`);
    }
    const create = optionalString(inputs, "create");
    if (create === undefined) return { stdout: "", stderr: "" };
    const connection = sshConnection(optionalObject(inputs, "connection") ?? {});
    const result = await runRemote(connection, create, optionalString(inputs, "stdin") ?? "");
    if (result.exitCode !== 0) {
        throw new Error(
            `Process exited with status ${result.exitCode}: running ${JSON.stringify(create)}:\n${result.combined}`,
        );
    }
    // The provider drops one final newline from each stream.
    return { stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
}

// CopyToRemote takes path-based sources only (FileAsset, FileArchive); the provider rejects the others at check.
// Mocks receive them as SDK asset objects whose fields are promises.
async function copy(inputs: Inputs): Promise<void> {
    const source = inputs.source;
    const path = source !== null && typeof source === "object" && "path" in source ? await source.path : undefined;
    if (typeof path !== "string") {
        throw new Error("source must be a path-based asset or archive (FileAsset or FileArchive), as for the provider");
    }
    await copyToRemote(sshConnection(optionalObject(inputs, "connection") ?? {}), path, requiredString(inputs, "remotePath"));
}

// Mocks receive secret inputs wrapped in the SDK's secret signature; the providers see plain values.
function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
    const record = value as Record<string, unknown>;
    if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, unwrapSecrets(item)]));
}

// JSON with sorted keys, so equal inputs hash equally whatever order the SDK sends them in.
function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, item]) => item !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}

function randomId(): string {
    return randomBytes(8).toString("hex");
}
