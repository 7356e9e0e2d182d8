/** Reads raw stack config values (strings as the Pulumi CLI hands them over, or typed values in tests) and collects
 * every problem, so one error can list them all before any resource exists. */

export const PROJECT = "etcd-cluster";

/** Raw values as the Pulumi CLI hands them over (strings, structured values as JSON text), or typed values in tests. */
export type RawConfig = Record<string, unknown>;

export class ConfigReader {
    readonly errors: string[] = [];
    readonly warnings: string[] = [];

    constructor(private readonly raw: RawConfig, readonly secretsSet: ReadonlySet<string> = new Set()) {}

    /** Records that `key` holds `value`, which is not allowed, and says what is. */
    bad(key: string, value: unknown, allowed: string): void {
        this.errors.push(`${PROJECT}:${key}: ${JSON.stringify(value)} is not allowed; ${allowed}`);
    }

    missing(key: string, what: string): void {
        this.errors.push(`${PROJECT}:${key}: is not set; ${what}`);
    }

    has(key: string): boolean {
        const v = this.raw[key];
        return v !== undefined && v !== "";
    }

    str(key: string, dflt?: string): string | undefined {
        const v = this.raw[key] ?? dflt;
        if (v === undefined || typeof v === "string") return v as string | undefined;
        if (typeof v === "number" || typeof v === "boolean") return String(v);
        this.bad(key, v, "expected a string");
        return undefined;
    }

    /** A whole number written in plain decimal digits (no "1e3", "0x10", spaces or fractions). */
    int(key: string, dflt: number | undefined, min: number, max: number, what: string): number | undefined {
        const v = this.raw[key];
        if (v === undefined || v === "") return dflt;
        const n = parseWholeNumber(v);
        if (n === undefined || n < min || n > max) { this.bad(key, v, what); return undefined; }
        return n;
    }

    bool(key: string, dflt: boolean): boolean {
        const v = this.raw[key];
        if (v === undefined || v === "") return dflt;
        if (v === true || v === "true") return true;
        if (v === false || v === "false") return false;
        this.bad(key, v, "expected true or false");
        return dflt;
    }

    /** A list: structured values arrive from the CLI as JSON text. */
    list(key: string): unknown[] | undefined {
        const v = this.raw[key];
        if (v === undefined || v === "") return [];
        let parsed: unknown = v;
        if (typeof v === "string") {
            try { parsed = JSON.parse(v); } catch { this.bad(key, v, "expected a list (set it with `pulumi config set --path`)"); return undefined; }
        }
        if (!Array.isArray(parsed)) { this.bad(key, v, "expected a list"); return undefined; }
        return parsed;
    }

    /** An object: structured values arrive from the CLI as JSON text. Keys outside `allowed` are refused (typos). */
    object(key: string, allowed: readonly string[]): Record<string, unknown> | undefined {
        const v = this.raw[key];
        if (v === undefined || v === "") return {};
        let parsed: unknown = v;
        if (typeof v === "string") {
            try { parsed = JSON.parse(v); } catch { this.bad(key, v, "expected an object (set it with `pulumi config set --path`)"); return undefined; }
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) { this.bad(key, v, "expected an object"); return undefined; }
        return this.knownKeys(key, parsed as Record<string, unknown>, allowed) ? parsed as Record<string, unknown> : undefined;
    }

    /** Refuses keys of `obj` outside `allowed`, so a typo is an error rather than a silently ignored setting. */
    knownKeys(key: string, obj: Record<string, unknown>, allowed: readonly string[]): boolean {
        const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
        for (const k of unknown) this.bad(`${key}.${k}`, obj[k], `unknown key "${k}"; allowed keys: ${allowed.join(", ")}`);
        return unknown.length === 0;
    }
}

/** Plain decimal digits only, as a number; anything else (1e3, 0x10, " 22", 2.5) is undefined. */
export function parseWholeNumber(v: unknown): number | undefined {
    if (typeof v === "number") return Number.isSafeInteger(v) ? v : undefined;
    if (typeof v === "string" && /^-?(0|[1-9]\d*)$/.test(v)) {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : undefined;
    }
    return undefined;
}
