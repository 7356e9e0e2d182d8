import * as pulumi from "@pulumi/pulumi";
import { SIZES, Size, loadTiers } from "../../sizing";
import { DEFAULT_TARGET, TARGET_KEYS, TargetConfig, memberNames, readTarget } from "../targets";
import { clientNameProblems } from "../clients";
import { BackupSettings, readBackup } from "../backup/settings";
import { CLUSTER_DEFAULTS, CLUSTER_KEYS, ClusterConfig, ClusterReadOptions, readClusterConfig } from "./etcd";
import { ConfigReader, PROJECT, RawConfig } from "./reader";
import { STORE_PREFIX, storeSnapshotStack } from "./restore";

/** The whole stack configuration: the cluster's settings plus the target section, checked before any resource. */

export const DEFAULTS = { target: DEFAULT_TARGET, ...CLUSTER_DEFAULTS } as const;
export const CONFIG_KEYS = [...TARGET_KEYS, ...CLUSTER_KEYS, "backup"] as const;
export const SECRET_KEYS = ["sshPrivateKey"] as const;

export interface ValidationResult { config?: ClusterConfig; target?: TargetConfig; backup?: BackupSettings; errors: string[]; warnings: string[] }

export function validateConfig(raw: RawConfig, opts: ClusterReadOptions & { sshKeySet: boolean; stack?: string }): ValidationResult {
    const r = new ConfigReader(raw, new Set(opts.sshKeySet ? ["sshPrivateKey"] : []));
    const config = readClusterConfig(r, opts);
    // The target checks its machine count against nodeCount even when another cluster key is wrong.
    const quiet = new ConfigReader(raw);
    const nodeCount = config?.nodeCount ?? quiet.int("nodeCount", CLUSTER_DEFAULTS.nodeCount, 1, 7, "");
    const size = config?.size ?? quiet.str("size", CLUSTER_DEFAULTS.size);
    const tier = config?.tier ?? ((SIZES as readonly unknown[]).includes(size) ? loadTiers()[size as Size] : undefined);
    const target = readTarget(r, { nodeCount, tier, size });
    const backup = readBackup(r, quiet.str("target", DEFAULT_TARGET));
    if (config && target) clientNameProblems(config.clientCertificates, memberNames(target, config.nodeCount), (key, value, allowed) => r.bad(key, value, allowed));
    if (config?.healthGateMember && target && !memberNames(target, config.nodeCount).includes(config.healthGateMember)) {
        r.bad("healthGateMember", config.healthGateMember, `expected the name of a member (${memberNames(target, config.nodeCount).join(", ")})`);
    }
    const restore = config?.restore;
    if (restore?.kind === "store") {
        const from = `${STORE_PREFIX}${restore.snapshot}`;
        const owner = storeSnapshotStack(restore.snapshot);
        if (!backup && !r.errors.some((e) => e.startsWith(`${PROJECT}:backup`))) {
            r.bad("restoreFrom", from, `a snapshot in the backup store needs ${PROJECT}:backup set (the store it reads from, as the backups were written); or give the path of a local snapshot file`);
        } else if (owner !== undefined && opts.stack !== undefined && owner !== opts.stack) {
            r.bad("restoreFrom", from, `it is a backup of stack ${owner}; a restore reads only this stack's (${opts.stack}) backups: store:latest or store:${opts.stack}/...; for another stack's snapshot fetch it with your own access to the store and give its local path`);
        }
    }
    if (r.errors.length) return { errors: r.errors, warnings: r.warnings };
    return { config, target, backup, errors: r.errors, warnings: r.warnings };
}

/** Reads the stack's configuration; throws one error listing every problem, so nothing is registered on bad input. */
export function loadStackConfig(): { config: ClusterConfig; target: TargetConfig; backup?: BackupSettings; sshPrivateKey?: pulumi.Output<string> } {
    const cfg = new pulumi.Config(PROJECT);
    const raw: RawConfig = {};
    for (const key of CONFIG_KEYS) raw[key] = cfg.get(key);
    const sshPrivateKey = cfg.getSecret("sshPrivateKey");
    const result = validateConfig(raw, { sshKeySet: sshPrivateKey !== undefined, stack: pulumi.getStack() });
    for (const w of result.warnings) pulumi.log.warn(w);
    if (!result.config || !result.target) {
        throw new pulumi.RunError(`invalid stack configuration (${result.errors.length} problem${result.errors.length > 1 ? "s" : ""}):\n  - ${result.errors.join("\n  - ")}`);
    }
    return { config: result.config, target: result.target, backup: result.backup, sshPrivateKey };
}
