import { ConfigReader } from "../config/reader";
import { readAwsTarget } from "./aws";
import { readGcpTarget } from "./gcp";
import { HOSTS_KEYS, HostsTarget, readHostsTarget } from "./hosts";

/** Where members run. Each target validates its own keys and only produces machines. */

export const TARGETS = ["hosts", "aws", "gcp"] as const;
export type TargetConfig = HostsTarget;
export const DEFAULT_TARGET = "hosts";

/** Every stack config key some target reads (secrets excluded). */
export const TARGET_KEYS = ["target", ...HOSTS_KEYS] as const;

export function readTarget(r: ConfigReader, cluster: { nodeCount?: number }): TargetConfig | undefined {
    const target = r.str("target", DEFAULT_TARGET);
    switch (target) {
        case "hosts": return readHostsTarget(r, cluster);
        case "aws": return readAwsTarget(r);
        case "gcp": return readGcpTarget(r);
        default:
            r.bad("target", target, `allowed: ${TARGETS.join(", ")}`);
            return undefined;
    }
}
