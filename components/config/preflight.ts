import { PREFLIGHT_CHECKS, PreflightCheck, PreflightSettings } from "../scripts/preflight";
import { ConfigReader } from "./reader";

/** The `preflight` key: `{ walFsyncP99Ms?, waive?: { fsync?, timeSync?, freeSpace? } }`, each waiver with its reason. */

export const PREFLIGHT_DEFAULTS: PreflightSettings = { walFsyncP99Ms: 10, waive: {} };
const MAX_FSYNC_MS = 1000;

export function readPreflight(r: ConfigReader): PreflightSettings | undefined {
    const before = r.errors.length;
    const o = r.object("preflight", ["walFsyncP99Ms", "waive"]);
    if (!o) return undefined;
    let walFsyncP99Ms = PREFLIGHT_DEFAULTS.walFsyncP99Ms;
    if (o.walFsyncP99Ms !== undefined) {
        const v = o.walFsyncP99Ms;
        const n = typeof v === "number" ? v : typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
        if (!(n > 0 && n <= MAX_FSYNC_MS)) r.bad("preflight.walFsyncP99Ms", v, `allowed: milliseconds above 0 and at most ${MAX_FSYNC_MS} (etcd's guide asks for under 10)`);
        else walFsyncP99Ms = n;
    }
    const waive: Partial<Record<PreflightCheck, string>> = {};
    if (o.waive !== undefined) {
        if (typeof o.waive !== "object" || o.waive === null || Array.isArray(o.waive)) {
            r.bad("preflight.waive", o.waive, `expected an object naming the checks to waive, each with the reason: { ${PREFLIGHT_CHECKS.map((c) => `${c}?: "why"`).join(", ")} }`);
        } else if (r.knownKeys("preflight.waive", o.waive as Record<string, unknown>, PREFLIGHT_CHECKS)) {
            for (const [check, reason] of Object.entries(o.waive as Record<string, unknown>)) {
                if (typeof reason !== "string" || !/^[^\n\r]{3,200}$/.test(reason.trim())) r.bad(`preflight.waive.${check}`, reason, "expected the reason the check is waived (3-200 characters on one line)");
                else waive[check as PreflightCheck] = reason.trim();
            }
        }
    }
    return r.errors.length > before ? undefined : { walFsyncP99Ms, waive };
}
