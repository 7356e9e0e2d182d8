import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { StoreReader } from "./backup/storeReader";
import { RestoreSource, restoreKey } from "./config/restore";
import { binary } from "./layout";
import { MemberPlan, initialCluster } from "./plan";
import {
    parseResolvedSnapshot, renderRestoreCheckScript, renderRestoreFetchScript, renderRestoreGateScript, renderRestoreMemberScript,
    renderRestoreResolveScript, uploadedSnapshotPath,
} from "./scripts/restore";
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
    /** With a store snapshot: how to read the store (read only). */
    reader?: StoreReader;
}

/** The snapshot a restore takes, once known, and per member the step that puts it where the check reads it. */
interface Snapshot {
    sha256: pulumi.Output<string>;
    key: pulumi.Output<string>;
    deliver: (m: Machine) => pulumi.Resource;
}

/** The restored cluster's token: a new one per restore, so it never mixes with the cluster it replaces. */
export function restoredClusterToken(token: string, key: string): string {
    return `${token}-restore-${key}`;
}

/**
 * A restore as steps of the stack (scripts/restore.ts): per member an upload of the snapshot (a local file) or a fetch
 * from the backup store, and its check, then,
 * once every member's check has passed, the restore on every member at once, then one gate. Every step carries the
 * restore key in its command, so with the engine it runs once per key; on the hosts a recorded key makes each step
 * a no-op. Returns the gate, which whatever talks to the cluster afterwards waits for.
 */
export function restoreSteps(name: string, args: RestoreArgs, parent: pulumi.Resource): command.remote.Command {
    const { config } = args;
    const etcdutl = binary(config.etcdVersion, "etcdutl");
    const step = (m: Machine, label: string, script: pulumi.Input<string>) =>
        pulumi.output(script).apply((s) => remoteCommand(s, { user: m.user, label: `${label} ${m.name}` }));
    const snapshot = args.restore.kind === "file" ? uploaded(args, parent) : fetched(name, args, parent, step);
    const checks = args.machines.map((m) => new command.remote.Command(`${m.name}-restore-check`, {
        connection: m.connection,
        create: step(m, "check the snapshot to restore on", pulumi.all([snapshot.sha256, snapshot.key]).apply(([sha, key]) => renderRestoreCheckScript({
            memberName: m.name, snapshotSha256: sha, key, etcdutl,
        }))),
        triggers: [m.identity],
    }, { parent, dependsOn: [snapshot.deliver(m)] }));
    const restored = args.machines.map((m) => new command.remote.Command(`${m.name}-restore`, {
        connection: m.connection,
        create: step(m, "restore", pulumi.all([args.plans, args.token, snapshot.sha256, snapshot.key]).apply(([plans, token, sha, key]) => {
            const member = plans.find((p) => p.name === m.name)!;
            return renderRestoreMemberScript({
                memberName: m.name, snapshotSha256: sha, key, etcdutl,
                etcdctl: binary(config.etcdVersion, "etcdctl"), dataDir: config.dataDir, walDir: config.walDir,
                peerUrl: member.peerUrl, endpoints: plans.map((p) => p.clientUrl), initialCluster: initialCluster(plans),
                clusterToken: restoredClusterToken(token, key),
            });
        })),
        triggers: [m.identity],
    }, { parent, dependsOn: checks }));
    return new command.remote.Command(`${name}-restore-gate`, {
        connection: args.gateHost.connection,
        create: step(args.gateHost, "restored cluster gate on", pulumi.all([args.plans, snapshot.key]).apply(([plans, key]) => renderRestoreGateScript({
            etcdVersion: config.etcdVersion, members: plans, key, timeoutSeconds: args.timeoutSeconds,
        }))),
    }, { parent, dependsOn: restored });
}

/** A local file: copied to every member as a file (never through a command). */
function uploaded(args: RestoreArgs, parent: pulumi.Resource): Snapshot {
    if (args.restore.kind !== "file") throw new Error("uploaded needs a local snapshot");
    const restore = args.restore;
    return {
        sha256: pulumi.output(restore.sha256),
        key: pulumi.output(restore.key),
        deliver: (m) => new command.remote.CopyToRemote(`${m.name}-restore-upload`, {
            connection: m.connection,
            source: new pulumi.asset.FileAsset(restore.path),
            remotePath: uploadedSnapshotPath(restore.sha256),
            triggers: [m.identity],
        }, { parent, dependsOn: args.after }),
    };
}

/**
 * A snapshot in the backup store: one step on the gate host resolves it (which snapshot, and the SHA-256 from the
 * store's checksum file; run once per request and restoreId), then every member fetches it with the store's read
 * credentials on standard input and refuses it unless it has that SHA-256. The key comes from that SHA-256, as for
 * a local file, so the same snapshot restores under the same key whichever way it came.
 */
function fetched(name: string, args: RestoreArgs, parent: pulumi.Resource,
    step: (m: Machine, label: string, script: pulumi.Input<string>) => pulumi.Output<string>): Snapshot {
    if (args.restore.kind !== "store" || !args.reader) throw new Error("fetched needs a store snapshot and a store reader");
    const { restore, reader } = args;
    const resolve = new command.remote.Command(`${name}-restore-resolve`, {
        connection: args.gateHost.connection,
        create: step(args.gateHost, "resolve the snapshot to restore on", pulumi.all([reader.storeRead, reader.description]).apply(([storeRead, storeDescription]) =>
            renderRestoreResolveScript({ snapshot: restore.snapshot, id: restore.id, storeRead, storeDescription }))),
        stdin: reader.credentials,
    }, { parent, dependsOn: [...args.after, ...reader.ready] });
    const resolved = resolve.stdout.apply((out) => {
        const r = parseResolvedSnapshot(out);
        if (!r) throw new Error(`${name}-restore-resolve printed no "snapshot <path> <sha256>" line: ${out}`);
        return r;
    });
    const sha256 = resolved.apply((r) => r.sha256);
    const key = sha256.apply((sha) => restoreKey(sha, restore.id));
    return {
        sha256, key,
        deliver: (m) => new command.remote.Command(`${m.name}-restore-fetch`, {
            connection: m.connection,
            create: step(m, "fetch the snapshot to restore to", pulumi.all([resolved, key, reader.storeRead]).apply(([r, k, storeRead]) => renderRestoreFetchScript({
                memberName: m.name, snapshotSha256: r.sha256, key: k, storePath: r.path, storeRead,
            }))),
            stdin: reader.credentials,
            triggers: [m.identity],
        }, { parent, dependsOn: [resolve] }),
    };
}
