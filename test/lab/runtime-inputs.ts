// Typed reads of the untyped resource inputs the SDK hands to the lab runtime. A wrong or missing input fails
// loudly with the input's name instead of turning into "undefined" somewhere on a host.

export type Inputs = Record<string, unknown>;

export function optionalString(inputs: Inputs, key: string): string | undefined {
    const value = inputs[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw new Error(`input ${key} must be a string, got ${typeof value}`);
    return value;
}

export function requiredString(inputs: Inputs, key: string): string {
    const value = optionalString(inputs, key);
    if (value === undefined) throw new Error(`input ${key} is required`);
    return value;
}

export function optionalNumber(inputs: Inputs, key: string): number | undefined {
    const value = inputs[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`input ${key} must be a number`);
    return value;
}

export function optionalBoolean(inputs: Inputs, key: string): boolean {
    const value = inputs[key];
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") throw new Error(`input ${key} must be a boolean`);
    return value;
}

export function stringList(inputs: Inputs, key: string): string[] {
    const value = inputs[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
        throw new Error(`input ${key} must be a list of strings`);
    }
    return value;
}

export function optionalObject(inputs: Inputs, key: string): Inputs | undefined {
    const value = inputs[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) throw new Error(`input ${key} must be an object`);
    return value as Inputs;
}
