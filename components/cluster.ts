import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ADMIN_COMMON_NAME, clientCertificateSpec } from "./certificates";
import { etcdctlEnvironment, kubeApiserverFlags } from "./clientConfig";
import { ClusterConfig } from "./config";
import { sha256 } from "./digest";
import { Machine } from "./targets/machine";
import { EtcdMember } from "./member";
import { clusterToken, MemberPlan, planMember, restartOrder } from "./plan";
import { CertificatePair, EtcdCa } from "./pki";
import { renderGateScript } from "./scripts/health";
import { InstallSource } from "./scripts/install";
import { PreflightFigures, requiredDataBytes } from "./scripts/preflight";
import { remoteCommand } from "./scripts/remote";

export interface EtcdClusterArgs {
    config: ClusterConfig;
    machines: Machine[];
    stack: string;
}

export type PreflightReport = Partial<PreflightFigures> & {
    walFsyncP99MsThreshold: number;
    dataRequiredBytes: number;
    waived: Record<string, string>;
};

export const GATE_TIMEOUT_SECONDS = 300;
export const APPLY_TIMEOUT_SECONDS = 180;

/** How etcd reaches the hosts: downloaded there, or uploaded from a local release tarball. */
export function installSource(config: ClusterConfig): InstallSource & { localPath?: string } {
    if (!config.etcdArchive) return { kind: "download", baseUrl: config.etcdDownloadUrl };
    return {
        kind: "archive",
        localPath: config.etcdArchive,
        fileName: path.basename(config.etcdArchive),
        sha256: sha256(fs.readFileSync(config.etcdArchive)),
    };
}

/**
 * The whole cluster on machines some target provides: CA, members applied one after another, then one health gate.
 * Nothing here knows which target made the machines.
 */
export class EtcdCluster extends pulumi.ComponentResource {
    readonly memberNames: string[];
    readonly clientEndpoints: pulumi.Output<string[]>;
    readonly peerUrls: pulumi.Output<string[]>;
    readonly caCertificate: pulumi.Output<string>;
    readonly admin: CertificatePair;
    readonly clients: Record<string, CertificatePair>;
    readonly etcdctlEnvironment: pulumi.Output<string>;
    readonly kubeApiserverFlags: pulumi.Output<string[]>;
    readonly health: command.remote.Command;
    /** Per member: what the preflight checks measured, the limits and the waivers. */
    readonly preflight: pulumi.Output<Record<string, PreflightReport>>;

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-cluster:index:Cluster", name, {}, opts);
        const { config, machines, stack } = args;
        const ca = new EtcdCa(`${name}-ca`, { stack, keyAlgorithm: config.keyAlgorithm, validityDays: config.caValidityDays }, { parent: this });
        const token = ca.publicKeyFingerprint.apply((fp) => clusterToken(stack, fp));
        const plans: pulumi.Output<MemberPlan[]> = pulumi.all(machines.map((m) => m.address))
            .apply((addresses) => machines.map((m, i) => planMember(m.name, addresses[i])));
        const install = installSource(config);
        const gomaxprocs = config.tier.etcd.gomaxprocs;

        const members: EtcdMember[] = [];
        for (const { member: machine, after } of restartOrder(machines)) {
            members.push(new EtcdMember(machine.name, {
                machine, config, ca, token, stack, gomaxprocs, install,
                plan: plans.apply((all) => ({ member: all.find((p) => p.name === machine.name)!, all })),
                after: after && members.find((m) => m.memberName === after.name),
                applyTimeoutSeconds: APPLY_TIMEOUT_SECONDS,
            }, { parent: this }));
        }

        this.memberNames = machines.map((m) => m.name);
        this.clientEndpoints = plans.apply((ps) => ps.map((p) => p.clientUrl));
        this.peerUrls = plans.apply((ps) => ps.map((p) => p.peerUrl));
        const digests = pulumi.all(members.map((m) => m.configurationDigest));
        this.health = new command.remote.Command(`${name}-health`, {
            connection: machines[0].connection,
            create: pulumi.all([this.clientEndpoints, digests]).apply(([endpoints, ds]) => remoteCommand(
                `# Members' configurations: ${members.map((m, i) => `${m.memberName}=${ds[i]}`).join(" ")}\n` +
                renderGateScript({ etcdVersion: config.etcdVersion, endpoints, timeoutSeconds: GATE_TIMEOUT_SECONDS }),
                { user: machines[0].user, label: `cluster health gate (${name})` })),
        }, { parent: this, dependsOn: members.map((m) => m.applied) });

        this.preflight = pulumi.all(members.map((m) => m.preflight)).apply((figures) => Object.fromEntries(members.map((m, i) => [m.memberName, {
            ...figures[i],
            walFsyncP99MsThreshold: config.preflight.walFsyncP99Ms,
            dataRequiredBytes: requiredDataBytes(config.quotaBackendBytes),
            waived: config.preflight.waive,
        }])));
        this.caCertificate = ca.certPem;
        this.admin = ca.issue(`${name}-admin`, clientCertificateSpec(ADMIN_COMMON_NAME, stack, config.certRotation), config.certValidityDays, config.certRotation, this);
        this.clients = Object.fromEntries(config.clientCertificates.map((client) => [client,
            ca.issue(`${name}-client-${client}`, clientCertificateSpec(client, stack, config.certRotation), config.certValidityDays, config.certRotation, this)]));
        this.etcdctlEnvironment = this.clientEndpoints.apply(etcdctlEnvironment);
        this.kubeApiserverFlags = this.clientEndpoints.apply(kubeApiserverFlags);
        this.registerOutputs({ clientEndpoints: this.clientEndpoints });
    }
}
