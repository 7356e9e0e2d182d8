import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import { BACKUP, BACKUP_METRICS } from "./backup/layout";
import { memberBackups } from "./backup/memberBackups";
import { MemberStore } from "./backup/memberStore";
import { StoreReader } from "./backup/storeReader";
import { BackupSettings, maxBackupAgeSeconds } from "./backup/settings";
import { clientCertificateSpec } from "./certificates";
import { ADMIN_USER, authPlan, ClientSpec, gatewayPassword } from "./clients";
import { etcdctlEnvironment, kubeApiserverFlags } from "./clientConfig";
import { ClusterConfig } from "./config";
import { sha256 } from "./digest";
import { diskSteps } from "./disks";
import { guardedMachines, preflightSteps, trustSteps, upFrontGuards } from "./guards";
import { expectedSha256 } from "./releaseChecksums";
import { certificateRenewal, rotationLabel } from "./renewal";
import { Machine } from "./targets/machine";
import { releaseDir } from "./layout";
import { EtcdMember, Survey } from "./member";
import { clusterToken, MemberPlan, planMember, restartOrder } from "./plan";
import { CertificatePair, EtcdCa } from "./pki";
import { restoreSteps } from "./restore";
import { ClusterMode } from "./scripts/apply";
import { renderAuthScript } from "./scripts/auth";
import { renderGateScript } from "./scripts/health";
import { renderReconcileScript, renderSurveyScript } from "./scripts/membership";
import { InstallSource } from "./scripts/install";
import { PreflightFigures, requiredDataBytes } from "./scripts/preflight";
import { remoteCommand } from "./scripts/remote";

export interface EtcdClusterArgs {
    config: ClusterConfig;
    machines: Machine[];
    stack: string;
    /** The clock (ms since the epoch): picks the certificate renewal generation, the program's one use of time. */
    now: number;
    /** Scheduled backups, and the store the target provides for them. */
    backup?: { settings: BackupSettings; store: MemberStore };
    /** With `restoreFrom` naming a store snapshot: the restore's read-only way into the backup store. */
    restoreReader?: StoreReader;
}

/** The `backup` stack output: where backups go, on what schedule, and where to read the last success. */
export interface BackupReport {
    schedule: string;
    retention: { hourly: number; daily: number };
    store: string;
    maxAgeSeconds: number;
    lastSuccessFile: string;
    metricsFile: string;
    /** Run on any member: the leader of the time took the newest backup, so read every member's record. */
    statusCommand: string;
}

export type PreflightReport = Partial<PreflightFigures> & {
    walFsyncP99MsThreshold: number;
    dataRequiredBytes: number;
    waived: Record<string, string>;
};

export const GATE_TIMEOUT_SECONDS = 300;
export const APPLY_TIMEOUT_SECONDS = 180;

export interface ClientCredentials extends CertificatePair {
    /** The etcd user the client acts as. */
    user: string;
    prefix: string;
    /** Gateway clients only (secret). */
    password?: pulumi.Output<string>;
}

/** How etcd reaches the hosts: downloaded there, or uploaded from a local release tarball. */
export function installSource(config: ClusterConfig): InstallSource & { localPath?: string } {
    if (!config.etcdArchive) return { kind: "download", baseUrl: config.etcdDownloadUrl, sha256: expectedSha256(config.etcdVersion, config.etcdSha256) };
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
    readonly clients: Record<string, ClientCredentials>;
    readonly etcdctlEnvironment: pulumi.Output<string>;
    readonly kubeApiserverFlags: pulumi.Output<string[]>;
    readonly health: command.remote.Command;
    /** Per member: what the preflight checks measured, the limits and the waivers. */
    readonly preflight: pulumi.Output<Record<string, PreflightReport>>;
    /** When the next `pulumi up` re-issues every leaf certificate. */
    readonly certificatesRenewAfter: string;
    readonly backup?: pulumi.Output<BackupReport>;

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-cluster:index:Cluster", name, {}, opts);
        const { config, stack } = args;
        // Refusals come before anything changes: no key, certificate, binary or file until every guard has passed.
        const preflights = preflightSteps(args.machines, config, stack, diskSteps(args.machines, config, this), this);
        const caArgs = { stack, keyAlgorithm: config.keyAlgorithm, validityDays: config.caValidityDays, after: upFrontGuards(args.machines, preflights) };
        const ca = new EtcdCa(`${name}-ca`, { ...caArgs, purpose: "CA" }, { parent: this });
        const peerCa = new EtcdCa(`${name}-peer-ca`, { ...caArgs, purpose: "peer CA" }, { parent: this });
        const trusts = trustSteps(args.machines, config, stack, ca.certPem, preflights, this);
        const machines = guardedMachines(args.machines, new Map(args.machines.map((m, i) => [m, [preflights[i], trusts[i]]])));
        const token = ca.publicKeyFingerprint.apply((fp) => clusterToken(stack, fp));
        const plans: pulumi.Output<MemberPlan[]> = pulumi.all(machines.map((m) => pulumi.all([m.address, m.dnsNames ?? []])))
            .apply((reached) => machines.map((m, i) => planMember(m.name, reached[i][0], reached[i][1])));
        const install = installSource(config);
        const renewal = certificateRenewal(args.now, config.certValidityDays, config.certRenewBeforeDays);
        const rotation = rotationLabel(config.certRotation, renewal);
        this.certificatesRenewAfter = renewal.renewsAfter.toISOString();
        const gomaxprocs = config.tier.etcd.gomaxprocs;

        // Members apply one after another (configure N+1 waits for apply N). Before the first apply, a survey on the
        // first host says whether a cluster exists; after the last, a reconcile removes members no longer configured
        // and a gate checks the whole cluster. See README "What runs on each member".
        const members: EtcdMember[] = [];
        let survey: Survey | undefined;
        const first = machines[0];
        const onFirst = (label: string) => ({ user: first.user, label: `${label} (${name})` });
        for (const { member: machine, after } of restartOrder(machines)) {
            machine.holdChangesUntil?.(after && members.find((m) => m.memberName === after.name)!.applied);
            const member = new EtcdMember(machine.name, {
                machine, config, ca, peerCa, token, stack, gomaxprocs, install, rotation,
                plan: plans.apply((all) => ({ member: all.find((p) => p.name === machine.name)!, all })),
                after: after && members.find((m) => m.memberName === after.name),
                applyTimeoutSeconds: APPLY_TIMEOUT_SECONDS,
            }, { parent: this });
            if (!survey) {
                const step = new command.remote.Command(`${name}-membership-survey`, {
                    connection: first.connection,
                    create: pulumi.all([plans, member.configurationDigest]).apply(([ps, digest]) => remoteCommand(
                        renderSurveyScript({ etcdVersion: config.etcdVersion, members: ps, certificates: releaseDir(digest), dataDir: config.dataDir }),
                        onFirst("membership survey"))),
                }, { parent: this, dependsOn: [member.configured] });
                survey = { step, mode: step.stdout.apply((out) => out.trim().split("\n").pop() as ClusterMode) };
            }
            member.apply(survey);
            members.push(member);
        }

        this.memberNames = machines.map((m) => m.name);
        this.clientEndpoints = plans.apply((ps) => ps.map((p) => p.clientUrl));
        this.peerUrls = plans.apply((ps) => ps.map((p) => p.peerUrl));
        this.clients = Object.fromEntries(config.clientCertificates.map((client) => [client.name, this.issueClient(name, client, ca, config, stack, rotation)]));
        const passwords = Object.values(this.clients).filter((c) => c.password).map((c) => c.password!.apply((p) => `${c.user} ${p}\n`));
        const plan = authPlan(this.memberNames, config.clientCertificates);
        // Reconcile, users and gate speak to the whole cluster through every member's endpoint with one member's
        // credentials, so any healthy member can run them: the first by default, another when that one's host is down.
        const gateHost = machines.find((m) => m.name === config.healthGateMember) ?? machines[0];
        const gateCertificates = members.find((m) => m.memberName === gateHost.name)!.configurationDigest.apply(releaseDir);
        const onGateHost = (label: string) => ({ user: gateHost.user, label: `${label} (${name})` });
        const reconcile = new command.remote.Command(`${name}-membership`, {
            connection: gateHost.connection,
            create: pulumi.all([plans, gateCertificates]).apply(([ps, certificates]) => remoteCommand(
                renderReconcileScript({ etcdVersion: config.etcdVersion, members: ps, certificates, timeoutSeconds: APPLY_TIMEOUT_SECONDS }),
                onGateHost("membership reconcile"))),
        }, { parent: this, dependsOn: members.map((m) => m.applied) });
        // A restore replaces the data of whatever cluster the members run; users and roles are set up on the result.
        const restored = config.restore && restoreSteps(name, {
            config, restore: config.restore, machines, plans, token, gateHost, after: [reconcile], timeoutSeconds: GATE_TIMEOUT_SECONDS,
            reader: args.restoreReader,
        }, this);
        const auth = new command.remote.Command(`${name}-auth`, {
            connection: gateHost.connection,
            create: pulumi.all([plans, gateCertificates]).apply(([ps, certificates]) => remoteCommand(
                renderAuthScript({ etcdVersion: config.etcdVersion, members: ps, certificates, plan }),
                onGateHost("users, roles and authentication"))),
            stdin: pulumi.secret(pulumi.all(passwords).apply((lines) => lines.join(""))),
        }, { parent: this, dependsOn: restored ? [restored] : [reconcile] });
        const digests = pulumi.all(members.map((m) => m.configurationDigest));
        this.health = new command.remote.Command(`${name}-health`, {
            connection: gateHost.connection,
            create: pulumi.all([plans, digests, gateCertificates]).apply(([ps, ds, certificates]) => remoteCommand(
                `# Members' configurations: ${members.map((m, i) => `${m.memberName}=${ds[i]}`).join(" ")}\n` +
                renderGateScript({ etcdVersion: config.etcdVersion, members: ps, certificates, timeoutSeconds: GATE_TIMEOUT_SECONDS, expiryMarginDays: config.certExpiryMarginDays }),
                onGateHost("cluster health gate"))),
        }, { parent: this, dependsOn: [auth] });

        if (args.backup) {
            const { settings, store } = args.backup;
            const steps = memberBackups({ settings, store, stack, token, etcdVersion: config.etcdVersion, machines, plans, after: [this.health] }, this);
            this.backup = pulumi.all([store.description, ...steps.map((s) => s.id)]).apply(([description]) => ({
                schedule: settings.schedule.text,
                retention: settings.retention,
                store: description,
                maxAgeSeconds: maxBackupAgeSeconds(settings.schedule),
                lastSuccessFile: BACKUP.lastSuccess,
                metricsFile: BACKUP_METRICS,
                statusCommand: `cat ${BACKUP.lastSuccess}; systemctl list-timers --no-pager ${BACKUP.timerUnit}; systemctl status --no-pager ${BACKUP.serviceUnit}`,
            }));
        }

        this.preflight = pulumi.all(members.map((m) => m.preflight)).apply((figures) => Object.fromEntries(members.map((m, i) => [m.memberName, {
            ...figures[i],
            walFsyncP99MsThreshold: config.preflight.walFsyncP99Ms,
            dataRequiredBytes: requiredDataBytes(config.quotaBackendBytes),
            waived: config.preflight.waive,
        }])));
        this.caCertificate = ca.certPem;
        this.admin = ca.issue(`${name}-admin`, clientCertificateSpec({ name: ADMIN_USER, gateway: false }, stack, rotation, config.keyAlgorithm), config.certValidityDays, rotation, this);
        this.etcdctlEnvironment = this.clientEndpoints.apply(etcdctlEnvironment);
        this.kubeApiserverFlags = this.clientEndpoints.apply(kubeApiserverFlags);
        this.registerOutputs({ clientEndpoints: this.clientEndpoints });
    }

    /**
     * A named client's certificate, and for a gateway client its password. The password comes from a key made for it
     * alone and never replaced by `certRotation`: rotating certificates must not lock out a client that still has
     * the old password configured.
     */
    private issueClient(name: string, client: ClientSpec, ca: EtcdCa, config: ClusterConfig, stack: string, rotation: string): ClientCredentials {
        const pair = ca.issue(`${name}-client-${client.name}`, clientCertificateSpec(client, stack, rotation, config.keyAlgorithm), config.certValidityDays, rotation, this);
        if (!client.gateway) return { ...pair, user: client.name, prefix: client.prefix };
        const seed = new tls.PrivateKey(`${name}-client-${client.name}-password`, { algorithm: "ED25519" }, { parent: this, dependsOn: ca.after });
        return { ...pair, user: client.name, prefix: client.prefix, password: pulumi.secret(seed.privateKeyPem.apply(gatewayPassword)) };
    }
}
