import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { sha256 } from "./digest";
import { DEFRAG, renderDefragScript, renderDefragService, renderDefragTimer } from "./defrag";
import { memberCertificateSpecs } from "./certificates";
import { renderCertificateMetrics } from "./certificateMetrics";
import { CERTIFICATE_METRICS } from "./backup/layout";
import { NOSPACE_RECOVER, renderNospaceRecoverScript } from "./nospace";
import { memberEnvironment, renderEnvironmentFile } from "./environment";
import { encodeBundle, HostFile } from "./fileBundle";
import { CURRENT_LINK, RELEASE_FILES, binary, releaseDir } from "./layout";
import { Machine } from "./targets/machine";
import { MemberPlan } from "./plan";
import { EtcdCa } from "./pki";
import { ClusterMode, renderApplyScript } from "./scripts/apply";
import { renderConfigureScript } from "./scripts/configure";
import { parsePreflightFigures, PreflightFigures, renderMachineChecksScript, requiredDataBytes } from "./scripts/preflight";
import { InstallSource, renderInstallScript, uploadedArchivePath } from "./scripts/install";
import { renderRetireScript } from "./scripts/membership";
import { remoteCommand, shq } from "./scripts/remote";
import { renderUnit } from "./unit";

export interface EtcdMemberArgs {
    machine: Machine;
    /** This member and all members, planned from the machines' addresses. */
    plan: pulumi.Input<{ member: MemberPlan; all: MemberPlan[] }>;
    config: ClusterConfig;
    ca: EtcdCa;
    /** Signs peer certificates only; the peer port trusts nothing else. */
    peerCa: EtcdCa;
    token: pulumi.Input<string>;
    stack: string;
    gomaxprocs: number;
    install: InstallSource & { localPath?: string };
    /** Re-issues the member's certificates when it changes (operator rotation and renewal generation). */
    rotation: string;
    /** The member whose changes must be applied (and healthy) before this one's begin. */
    after?: EtcdMember;
    applyTimeoutSeconds: number;
}

/** The membership survey's verdict (see scripts/membership.ts), and the step that made it. */
export interface Survey { mode: pulumi.Output<ClusterMode>; step: pulumi.Resource }

/**
 * One etcd member on one machine: certificates, then four convergent remote steps: upload (offline installs only),
 * install, configure, apply. Every step carries the machine's identity, so a replaced machine is set up again.
 */
export class EtcdMember extends pulumi.ComponentResource {
    readonly memberName: string;
    /** The step that stages this member's configuration. */
    readonly configured: command.remote.Command;
    /** The step the next member waits for; made by `apply`. */
    applied!: command.remote.Command;
    /** Names the staged configuration: changes whenever anything etcd runs with changes. */
    readonly configurationDigest: pulumi.Output<string>;
    /** What the preflight checks measured on this member's machine. */
    readonly preflight: pulumi.Output<PreflightFigures | undefined>;

    constructor(name: string, args: EtcdMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-cluster:member:Member", name, {}, opts);
        const { machine, config } = args;
        this.memberName = name;
        const plan = pulumi.output(args.plan);
        const specs = plan.apply((p) => memberCertificateSpecs(p.member, config.extraSans, args.stack, args.rotation, config.keyAlgorithm));
        const server = args.ca.issue(`${name}-server`, specs.server, config.certValidityDays, args.rotation, this);
        // While an existing cluster moves to its peer CA, peers trust both CAs, and at first keep their old certificates.
        const peerIssuer = config.peerCaMigration === "trust-both" ? args.ca : args.peerCa;
        const peer = peerIssuer.issue(`${name}-peer`, specs.peer, config.certValidityDays, args.rotation, this);
        const connection = machine.connection;
        const triggers = [machine.identity];
        const step = (label: string, script: pulumi.Input<string>) => pulumi.output(script).apply((s) => remoteCommand(s, { user: machine.user, label: `${label} ${name}` }));

        const uploads: pulumi.Resource[] = [...(machine.dependsOn ?? [])];
        if (args.install.kind === "archive") {
            uploads.push(new command.remote.CopyToRemote(`${name}-upload`, {
                connection,
                source: new pulumi.asset.FileAsset(args.install.localPath!),
                remotePath: uploadedArchivePath(args.install.fileName),
                triggers,
            }, { parent: this, dependsOn: machine.dependsOn }));
        }
        const install = new command.remote.Command(`${name}-install`, {
            connection,
            create: step("install etcd on", renderInstallScript(config.etcdVersion, args.install)),
            triggers,
        }, { parent: this, dependsOn: uploads });

        // Preflight checks are per machine and run on every member at once (after its disks and guards: see
        // disks.ts); only configure and apply are chained member after member.
        const preflight = new command.remote.Command(`${name}-checks`, {
            connection,
            create: step("preflight checks on", renderMachineChecksScript({
                memberName: name, dataDir: config.dataDir, walDir: config.walDir, ...config.preflight,
                requiredDataBytes: requiredDataBytes(config.quotaBackendBytes),
            })),
            triggers,
        }, { parent: this, dependsOn: machine.dependsOn });
        this.preflight = preflight.stdout.apply(parsePreflightFigures);

        const mountPoints = [...(machine.dataDevice !== undefined ? [config.dataDir] : []), ...(machine.walDevice !== undefined ? [config.walDir] : [])];
        const unit = renderUnit({ memberName: name, dataDir: config.dataDir, walDir: config.walDir, gomaxprocs: args.gomaxprocs, mountPoints });
        const envFile = plan.apply((p) => renderEnvironmentFile(memberEnvironment(p.member, config), `etcd member ${name}`));
        const certs = pulumi.all([args.ca.certPem, server.certPem, peer.certPem, args.peerCa.certPem]).apply(([ca, serverCert, peerCert, peerCa]) =>
            ({ ca, serverCert, peerCert, peerTrust: config.peerCaMigration === "none" ? peerCa : `${peerCa}${ca}` }));
        // Keys are covered by the certificate they belong to: a new key always comes with a new certificate.
        this.configurationDigest = pulumi.all([envFile, certs]).apply(([env, c]) =>
            sha256([config.etcdVersion, unit, env, c.ca, c.serverCert, c.peerCert, c.peerTrust].join("\n")).slice(0, 16));
        const release = this.configurationDigest.apply(releaseDir);
        // The defragmentation timer is not read by etcd: it lives outside the staged configuration and its digest.
        const inlineFiles = pulumi.all([release, envFile, plan]).apply(([dir, env, p]): HostFile[] => [
            { path: `${dir}/${RELEASE_FILES.env}`, mode: "640", owner: "root:etcd", content: env },
            { path: `${dir}/${RELEASE_FILES.unit}`, mode: "644", owner: "root:root", content: unit },
            { path: DEFRAG.script, mode: "755", owner: "root:root", content: renderDefragScript({
                etcdVersion: config.etcdVersion, ownEndpoint: p.member.clientUrl, endpoints: p.all.map((m) => m.clientUrl),
            }) },
            { path: DEFRAG.service, mode: "644", owner: "root:root", content: renderDefragService(name) },
            { path: DEFRAG.timer, mode: "644", owner: "root:root", content: renderDefragTimer(name, p.all.findIndex((m) => m.name === name)) },
            { path: NOSPACE_RECOVER, mode: "755", owner: "root:root", content: renderNospaceRecoverScript({
                etcdctl: binary(config.etcdVersion, "etcdctl"), endpoints: p.all.map((m) => m.clientUrl), quotaBackendBytes: config.quotaBackendBytes,
            }) },
        ]);
        const certFiles = pulumi.all([release, certs]).apply(([dir, c]): HostFile[] => [
            { path: `${dir}/${RELEASE_FILES.ca}`, mode: "644", owner: "root:root", content: c.ca },
            { path: `${dir}/${RELEASE_FILES.peerCa}`, mode: "644", owner: "root:root", content: c.peerTrust },
            { path: `${dir}/${RELEASE_FILES.serverCert}`, mode: "644", owner: "root:root", content: c.serverCert },
            { path: `${dir}/${RELEASE_FILES.peerCert}`, mode: "644", owner: "root:root", content: c.peerCert },
        ]);
        const keys = [
            { file: RELEASE_FILES.serverKey, certificate: RELEASE_FILES.serverCert, pem: server.keyPem },
            { file: RELEASE_FILES.peerKey, certificate: RELEASE_FILES.peerCert, pem: peer.keyPem },
        ].map((k) => ({ ...k, path: release.apply((dir) => `${dir}/${k.file}`), mode: "600", owner: "etcd:etcd" }));
        const certificateMetrics = pulumi.all([args.ca.notAfter, args.peerCa.notAfter, server.notAfter, peer.notAfter]).apply(([ca, peerCa, serverEnd, peerEnd]): HostFile => ({
            path: CERTIFICATE_METRICS, mode: "644", owner: "root:root",
            content: renderCertificateMetrics(name, { ca, "peer-ca": peerCa, server: serverEnd, peer: peerEnd }),
        }));
        const stdin = pulumi.secret(pulumi.all([certFiles, pulumi.all(keys.map((k) => k.path)), pulumi.all(keys.map((k) => k.pem))]).apply(([certFiles, paths, pems]) => encodeBundle([
            ...certFiles,
            ...keys.map((k, i) => ({ path: paths[i], mode: k.mode, owner: k.owner, content: pems[i] })),
        ])));
        const stdinManifest = pulumi.all([certFiles, pulumi.all(keys.map((k) => k.path))]).apply(([certFiles, paths]) => [
            ...certFiles.map((c) => ({ path: c.path, mode: c.mode, owner: c.owner, fingerprint: `sha256 ${sha256(c.content).slice(0, 16)}` })),
            ...keys.map((k, i) => ({ path: paths[i], mode: k.mode, owner: k.owner, fingerprint: `key of ${k.certificate}` })),
        ]);
        this.configured = new command.remote.Command(`${name}-configure`, {
            connection,
            create: step("configure", pulumi.all([inlineFiles, certificateMetrics, stdinManifest, this.configurationDigest]).apply(([files, metrics, manifest, digest]) => renderConfigureScript({
                memberName: name, dataDir: config.dataDir, walDir: config.walDir, digest, etcdBinary: binary(config.etcdVersion, "etcd"),
                inlineFiles: [...files, metrics], stdinFiles: manifest,
            }))),
            stdin,
            triggers,
        }, { parent: this, dependsOn: [install, preflight, ...(args.after ? [args.after.applied] : [])] });

        this.applyStep = (survey) => new command.remote.Command(`${name}-apply`, {
            connection,
            create: step("apply", pulumi.all([plan, this.configurationDigest, args.token, survey.mode]).apply(([p, digest, token, mode]) => renderApplyScript({
                member: p.member, members: p.all, etcdVersion: config.etcdVersion, dataDir: config.dataDir,
                digest, token, mode, timeoutSeconds: args.applyTimeoutSeconds,
            }))),
            triggers,
        }, { parent: this, dependsOn: [this.configured, survey.step] });
        // No triggers: a rebuilt or replaced machine under this name updates the step, and only a host that leaves
        // the configuration has it deleted (see renderRetireScript).
        new command.remote.Command(`${name}-retire`, {
            connection,
            create: step("retire step of", `echo ${shq(`${name}: should this host leave the configuration, etcd is stopped here and its data moved aside`)}`),
            delete: step("retire", plan.apply((p) => renderRetireScript({
                etcdVersion: config.etcdVersion, members: p.all, member: p.member, certificates: CURRENT_LINK, dataDir: config.dataDir, walDir: config.walDir,
            }))),
        }, { parent: this, dependsOn: [this.configured] });
        this.registerOutputs({ configurationDigest: this.configurationDigest });
    }

    private readonly applyStep: (survey: Survey) => command.remote.Command;

    /** Adds the apply step, which must wait for the membership survey (which itself needs the first member configured). */
    apply(survey: Survey): command.remote.Command {
        this.applied = this.applyStep(survey);
        return this.applied;
    }
}
