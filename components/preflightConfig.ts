import { PREFLIGHT_CHECKS, PreflightCheck, PreflightSettings } from "./scripts/preflight";

/** The `preflight` key: `{ walFsyncP99Ms?, waive?: { fsync?, timeSync?, freeSpace? } }`, each waiver a reason. */

export const PREFLIGHT_DEFAULTS: PreflightSettings = { walFsyncP99Ms: 10, waive: {} };
const MAX_FSYNC_MS = 1000;

type Bad = (key: string, value: unknown, allowed: string) => void;

function object(value: unknown): Record<string, unknown> | undefined {
    let parsed = value;
    if (typeof value === "string") {
        try { parsed = JSON.parse(value); } catch { return undefined; }
    }
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
}

export function parsePreflight(value: unknown, bad: Bad): PreflightSettings {
    if (value === undefined || value === "") return PREFLIGHT_DEFAULTS;
    const o = object(value);
    if (!o) {
        bad("preflight", value, "expected an object { walFsyncP99Ms?, waive?: { fsync?, timeSync?, freeSpace? } } (set it with `pulumi config set --path preflight.walFsyncP99Ms 10`)");
        return PREFLIGHT_DEFAULTS;
    }
    for (const key of Object.keys(o)) {
        if (key !== "walFsyncP99Ms" && key !== "waive") bad(`preflight.${key}`, o[key], "unknown key; allowed: walFsyncP99Ms, waive");
    }
    let walFsyncP99Ms = PREFLIGHT_DEFAULTS.walFsyncP99Ms;
    if (o.walFsyncP99Ms !== undefined) {
        const n = typeof o.walFsyncP99Ms === "string" ? Number(o.walFsyncP99Ms) : o.walFsyncP99Ms;
        if (typeof n !== "number" || !Number.isFinite(n) || n <= 0 || n > MAX_FSYNC_MS) {
            bad("preflight.walFsyncP99Ms", o.walFsyncP99Ms, `allowed: milliseconds above 0 and at most ${MAX_FSYNC_MS} (etcd's guide asks for under 10)`);
        } else {
            walFsyncP99Ms = n;
        }
    }
    const waive: Partial<Record<PreflightCheck, string>> = {};
    if (o.waive !== undefined) {
        const w = object(o.waive);
        if (!w) bad("preflight.waive", o.waive, `expected an object naming checks to waive, each with the reason: { ${PREFLIGHT_CHECKS.map((c) => `${c}?: "why"`).join(", ")} }`);
        for (const [check, reason] of Object.entries(w ?? {})) {
            if (!(PREFLIGHT_CHECKS as readonly string[]).includes(check)) bad(`preflight.waive.${check}`, reason, `unknown check; allowed: ${PREFLIGHT_CHECKS.join(", ")}`);
            else if (typeof reason !== "string" || !/^[^\n\r]{3,200}$/.test(reason.trim())) bad(`preflight.waive.${check}`, reason, "expected the reason the check is waived (3-200 characters on one line)");
            else waive[check as PreflightCheck] = reason.trim();
        }
    }
    return { walFsyncP99Ms, waive };
}
