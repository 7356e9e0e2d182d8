import { Tier } from "../../sizing";
import { ConfigReader } from "../config/reader";
import { AWS_KEYS, AwsTarget, readAwsTarget } from "./aws/config";
import { GCP_KEYS, GcpTarget, readGcpTarget } from "./gcp/config";
import { HOSTS_KEYS, HostsTarget, readHostsTarget } from "./hosts";

/** Where members run. Each target validates its own keys and only produces machines. */

export const TARGETS = ["hosts", "aws", "gcp"] as const;
export type TargetConfig = HostsTarget | AwsTarget | GcpTarget;
export const DEFAULT_TARGET = "hosts";

/** Every stack config key some target reads (secrets excluded). */
export const TARGET_KEYS = ["target", ...HOSTS_KEYS, ...AWS_KEYS, ...GCP_KEYS] as const;

export function readTarget(r: ConfigReader, cluster: { nodeCount?: number; tier?: Tier; size?: string }): TargetConfig | undefined {
    const target = r.str("target", DEFAULT_TARGET);
    switch (target) {
        case "hosts": return readHostsTarget(r, cluster);
        case "aws": return readAwsTarget(r, cluster);
        case "gcp": return readGcpTarget(r, cluster);
        default:
            r.bad("target", target, `allowed: ${TARGETS.join(", ")}`);
            return undefined;
    }
}

/** Member names in restart order: the hosts' own names, or etcd-1..N for machines a cloud target makes. */
export function memberNames(target: TargetConfig, nodeCount: number): string[] {
    return target.kind === "hosts" ? target.hosts.map((h) => h.name) : Array.from({ length: nodeCount }, (_, i) => `etcd-${i + 1}`);
}
