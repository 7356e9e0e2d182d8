import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { RestoreSource } from "./config/restore";
import { binary } from "./layout";
import { MemberPlan, initialCluster } from "./plan";
import { renderRestoreCheckScript, renderRestoreGateScript, renderRestoreMemberScript, uploadedSnapshotPath } from "./scripts/restore";
import { remoteCommand } from "./scripts/remote";
import { Machine } from "./targets/machine";

export interface RestoreArgs {
    config: ClusterConfig;
    restore: RestoreSource;
    machines: Machine[];
    plans: pulumi.Output<MemberPlan[]>;
    /** The cluster's bootstrap token; the restored cluster gets a token of its own derived from it. */
    token: pulumi.Output<string>;
    /** Runs the gate (the health gate's host). */
    gateHost: Machine;
    /** Every member's apply step: the restore replaces whatever cluster they left running. */
    after: pulumi.Resource[];
    timeoutSeconds: number;
}

/** The restored cluster's token: a new one per restore, so it never mixes with the cluster it replaces. */
export function restoredClusterToken(token: string, key: string): string {
    return `${token}-restore-${key}`;
}

/**
 * A restore as steps of the stack (scripts/restore.ts): per member an upload of the snapshot and its check, then,
 * once every member's check has passed, the restore on every member at once, then one gate. Every step carries the
 * restore key in its command, so with the engine it runs once per key; on the hosts a recorded key makes each step
 * a no-op. Returns the gate, which whatever talks to the cluster afterwards waits for.
 */
export function restoreSteps(name: string, args: RestoreArgs, parent: pulumi.Resource): command.remote.Command {
    const { config, restore } = args;
    const etcdutl = binary(config.etcdVersion, "etcdutl");
    const step = (m: Machine, label: string, script: pulumi.Input<string>) =>
        pulumi.output(script).apply((s) => remoteCommand(s, { user: m.user, label: `${label} ${m.name}` }));
    const checks = args.machines.map((m) => {
        const upload = new command.remote.CopyToRemote(`${m.name}-restore-upload`, {
            connection: m.connection,
            source: new pulumi.asset.FileAsset(restore.path),
            remotePath: uploadedSnapshotPath(restore.sha256),
            triggers: [m.identity],
        }, { parent, dependsOn: args.after });
        return new command.remote.Command(`${m.name}-restore-check`, {
            connection: m.connection,
            create: step(m, "check the snapshot to restore on", renderRestoreCheckScript({
                memberName: m.name, snapshotSha256: restore.sha256, key: restore.key, etcdutl,
            })),
            triggers: [m.identity],
        }, { parent, dependsOn: [upload] });
    });
    const restored = args.machines.map((m) => new command.remote.Command(`${m.name}-restore`, {
        connection: m.connection,
        create: step(m, "restore", pulumi.all([args.plans, args.token]).apply(([plans, token]) => {
            const member = plans.find((p) => p.name === m.name)!;
            return renderRestoreMemberScript({
                memberName: m.name, snapshotSha256: restore.sha256, key: restore.key, etcdutl,
                etcdctl: binary(config.etcdVersion, "etcdctl"), dataDir: config.dataDir, walDir: config.walDir,
                peerUrl: member.peerUrl, endpoints: plans.map((p) => p.clientUrl), initialCluster: initialCluster(plans),
                clusterToken: restoredClusterToken(token, restore.key),
            });
        })),
        triggers: [m.identity],
    }, { parent, dependsOn: checks }));
    return new command.remote.Command(`${name}-restore-gate`, {
        connection: args.gateHost.connection,
        create: step(args.gateHost, "restored cluster gate on", args.plans.apply((plans) => renderRestoreGateScript({
            etcdVersion: config.etcdVersion, members: plans, key: restore.key, timeoutSeconds: args.timeoutSeconds,
        }))),
    }, { parent, dependsOn: restored });
}
