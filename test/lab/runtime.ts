// The lab runtime: a test stand-in for the Pulumi engine and the tls and command providers, plugged in through the
// SDK's mocks (pulumi.runtime.setMocks), so the real program deploys onto real hosts without the Pulumi CLI.
//
// The SDK registers resources in dependency order and awaits each registration. For each custom resource the runtime
// does what the engine does between runs, against its state file (runtime-state.ts): `create` for a new resource;
// nothing for unchanged inputs (the stored outputs are returned); `update` for changed inputs; a replacement where
// the provider or replaceOnChanges say so, or replacementTrigger changed (the new one is created first and the old
// one deleted at the end of the run, or the old one deleted first with deleteBeforeReplace); and after the program,
// `delete` for resources that left it, in reverse dependency order (deleteRemoved). The engine's decisions are in
// runtime-engine.ts, the providers' operations in runtime-providers.ts, the resource options in runtime-options.ts.
// After the first failure, resources still to be registered are skipped, as the engine stops starting new steps;
// commands already running finish. README.md ("The lab") lists where this still differs from the engine.

import * as pulumi from "@pulumi/pulumi";
import { applyIgnoreChanges, deletionWaves, planChange } from "./runtime-engine";
import { Inputs } from "./runtime-inputs";
import { ObservedOptions, ResourceOptionsLog } from "./runtime-options";
import { Provider, providers, storedAsset } from "./runtime-providers";
import { LabState, StoredResource } from "./runtime-state";

export interface ResourceFailure {
    resource: string;
    error: Error;
}

const symbols = { create: "+", update: "~", replace: "+-", same: "=" } as const;

export class LabRuntime implements pulumi.runtime.Mocks {
    readonly failures: ResourceFailure[] = [];
    readonly skipped: string[] = [];
    private readonly registered = new Set<string>();
    private options?: ResourceOptionsLog;

    constructor(
        private readonly state: LabState,
        private readonly log: (line: string) => void = () => undefined,
    ) {}

    /** Call after setMocks, before the program runs. */
    observeOptions(): void {
        this.options = ResourceOptionsLog.attach();
    }

    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        if (!args.custom) return { id: undefined, state: {} }; // components: the SDK itself records their outputs
        const label = `${args.type} ${args.name}`;
        if (this.failures.length > 0) {
            this.skipped.push(label);
            throw new Error(`${label}: skipped after an earlier failure`);
        }
        const started = Date.now();
        try {
            if (this.options === undefined) throw new Error("lab runtime: call observeOptions() before running the program");
            const options = this.options.take(args.type, args.name);
            const provider = providers[args.type];
            if (provider === undefined) throw new Error(`lab runtime does not implement ${args.type}`);
            const inputs = (await resolveInputs(args.inputs)) as Inputs;
            const { change, stored } = await this.register(provider, args.type, args.name, inputs, options);
            this.log(`${symbols[change]} ${label} ${seconds(started)}`);
            return { id: stored.id, state: { ...stored.inputs, ...stored.outputs } };
        } catch (err) {
            throw this.fail(label, err, started);
        }
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`lab runtime does not implement the function ${args.token}`);
    }

    /**
     * After the program: deletes what it no longer declares and the old versions of replaced resources, dependents
     * first. Call only when the program and every registration succeeded, as the engine deletes nothing otherwise.
     */
    async deleteRemoved(): Promise<void> {
        const condemned = [
            ...this.state.resources().filter((r) => !this.registered.has(r.urn)),
            ...this.state.pendingDeletes(),
        ];
        for (const wave of deletionWaves(condemned)) {
            await Promise.all(wave.map((old) => this.deleteOne(old)));
            if (this.failures.length > 0) return;
        }
    }

    private async register(provider: Provider, type: string, name: string, news: Inputs, options: ObservedOptions) {
        if (this.registered.has(options.urn)) throw new Error(`duplicate resource URN ${options.urn}`);
        this.registered.add(options.urn);
        const old = this.state.get(options.urn);
        const inputs = old ? applyIgnoreChanges(old.inputs, news, options.ignoreChanges) : news;
        const { change } = planChange(old, inputs, options, (changed) => provider.replaces(changed));
        const record = (id: string, outputs: Record<string, unknown>): StoredResource => ({
            urn: options.urn, type, name, id, inputs, outputs,
            dependencies: options.dependencies, parent: options.parent,
            protect: options.protect, retainOnDelete: options.retainOnDelete, replacementTrigger: options.replacementTrigger,
        });
        let stored: StoredResource;
        if (change === "same") {
            stored = { ...record(old!.id, old!.outputs), inputs: old!.inputs };
        } else if (change === "update") {
            // A failed update throws before the state changes: the next run sees the same difference and tries again.
            stored = record(old!.id, await provider.update(old!, inputs));
        } else {
            if (change === "replace" && old!.protect) {
                throw new Error(`unable to replace ${options.urn}: it is protected (its inputs changed: remove protect first)`);
            }
            if (change === "replace" && options.deleteBeforeReplace) {
                await this.runDelete(provider, old!);
                await this.state.remove(options.urn);
            }
            const created = await provider.create(inputs, name);
            stored = record(created.id, created.outputs);
            if (change === "replace" && !options.deleteBeforeReplace) await this.state.addPendingDelete(old!);
        }
        await this.state.put(stored);
        return { change, stored };
    }

    private async deleteOne(old: StoredResource): Promise<void> {
        const label = `${old.type} ${old.name}`;
        const started = Date.now();
        try {
            if (old.protect) throw new Error(`${old.urn} is protected and cannot be deleted (remove protect first)`);
            if (!old.retainOnDelete) await this.runDelete(providers[old.type], old);
            if (this.state.pendingDeletes().includes(old)) await this.state.removePendingDelete(old);
            else await this.state.remove(old.urn);
            this.log(`- ${label} ${seconds(started)}${old.retainOnDelete ? " (retained)" : ""}`);
        } catch (err) {
            this.fail(label, err, started);
        }
    }

    private async runDelete(provider: Provider | undefined, old: StoredResource): Promise<void> {
        if (provider === undefined) throw new Error(`lab runtime does not implement ${old.type}`);
        await provider.delete(old);
    }

    private fail(label: string, err: unknown, started: number): Error {
        const error = err instanceof Error ? err : new Error(String(err));
        this.failures.push({ resource: label, error });
        this.log(`! ${label} ${seconds(started)}`);
        return new Error(`${label}: ${error.message}`);
    }
}

function seconds(since: number): string {
    return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

// What the providers see: secrets unwrapped (mocks receive them wrapped in the SDK's secret signature), and file
// assets (whose fields arrive as promises) as their path and content hash.
async function resolveInputs(value: unknown): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map(resolveInputs));
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
        const path = value instanceof pulumi.asset.FileAsset ? await value.path : undefined;
        if (typeof path !== "string") throw new Error("lab runtime implements file assets (FileAsset) only");
        return storedAsset(path);
    }
    if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
    const record = value as Record<string, unknown>;
    if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return resolveInputs(record.value);
    const entries = await Promise.all(Object.entries(record).map(async ([key, item]) => [key, await resolveInputs(item)]));
    return Object.fromEntries(entries);
}
