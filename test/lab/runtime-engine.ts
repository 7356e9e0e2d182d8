// The engine's decisions, as pure functions: what a registered resource needs (create, update, replace or nothing)
// given its stored state, and in which order resources that left the program are deleted.

import { Inputs } from "./runtime-inputs";
import { ObservedOptions } from "./runtime-options";
import { StoredResource } from "./runtime-state";

export type Change = "create" | "same" | "update" | "replace";

/** What a provider's diff says about changed inputs: the schema's replaceOnChanges, or ForceNew in bridged providers. */
export type ProviderReplaces = (changedKeys: string[]) => boolean;

// JSON with sorted keys and no undefined members, so equal inputs compare equal whatever order the SDK sends them in.
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, item]) => item !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}

export function changedKeys(olds: Inputs, news: Inputs): string[] {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    return [...keys].filter((key) => canonicalJson(olds[key]) !== canonicalJson(news[key])).sort();
}

// ignoreChanges keeps the stored value of a top-level input (the engine also takes nested paths; the lab refuses them).
export function applyIgnoreChanges(olds: Inputs, news: Inputs, ignoreChanges: string[]): Inputs {
    const result = { ...news };
    for (const path of ignoreChanges) {
        if (!/^[A-Za-z0-9_]+$/.test(path)) throw new Error(`lab runtime implements ignoreChanges on top-level inputs only, not ${path}`);
        result[path] = olds[path];
    }
    return result;
}

// replaceOnChanges paths name an input (`triggers[*]`, `create`) or all of them (`*`). A nested path counts for its
// whole top-level input, which may replace where the engine would update.
function replaceOnChangesMatch(paths: string[], changed: string[]): boolean {
    const tops = paths.map((path) => path.split(/[.[]/)[0]);
    return tops.includes("*") || changed.some((key) => tops.includes(key));
}

export function planChange(
    old: StoredResource | undefined,
    news: Inputs,
    options: ObservedOptions,
    providerReplaces: ProviderReplaces,
): { change: Change; changed: string[] } {
    if (old === undefined) return { change: "create", changed: [] };
    const changed = changedKeys(old.inputs, news);
    if (canonicalJson(old.replacementTrigger) !== canonicalJson(options.replacementTrigger)) {
        return { change: "replace", changed: [...changed, "(replacementTrigger)"] };
    }
    if (changed.length === 0) return { change: "same", changed };
    const replace = providerReplaces(changed) || replaceOnChangesMatch(options.replaceOnChanges, changed);
    return { change: replace ? "replace" : "update", changed };
}

/**
 * Resources to delete, in waves: a resource is deleted only after every resource to delete that depends on it or is
 * its child. Each wave may run in parallel.
 */
export function deletionWaves(condemned: StoredResource[]): StoredResource[][] {
    const waves: StoredResource[][] = [];
    let left = [...condemned];
    while (left.length > 0) {
        const blockedBy = (r: StoredResource) =>
            left.some((other) => other !== r && (other.dependencies.includes(r.urn) || other.parent === r.urn));
        const wave = left.filter((r) => !blockedBy(r));
        if (wave.length === 0) throw new Error(`dependency cycle among resources to delete: ${left.map((r) => r.urn).join(", ")}`);
        waves.push(wave);
        left = left.filter((r) => !wave.includes(r));
    }
    return waves;
}
