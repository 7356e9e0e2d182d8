import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { sha256 } from "./digest";
import { memberCertificateSpecs } from "./certificates";
import { memberEnvironment, renderEnvironmentFile } from "./environment";
import { encodeBundle, HostFile } from "./fileBundle";
import { RELEASE_FILES, binary, releaseDir } from "./layout";
import { Machine } from "./targets/machine";
import { MemberPlan } from "./plan";
import { EtcdCa } from "./pki";
import { ClusterMode, renderApplyScript } from "./scripts/apply";
import { renderConfigureScript } from "./scripts/configure";
import { InstallSource, renderInstallScript, uploadedArchivePath } from "./scripts/install";
import { remoteCommand } from "./scripts/remote";
import { renderUnit } from "./unit";

export interface EtcdMemberArgs {
    machine: Machine;
    /** This member and all members, planned from the machines' addresses. */
    plan: pulumi.Input<{ member: MemberPlan; all: MemberPlan[] }>;
    config: ClusterConfig;
    ca: EtcdCa;
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

    constructor(name: string, args: EtcdMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-cluster:member:Member", name, {}, opts);
        const { machine, config } = args;
        this.memberName = name;
        const plan = pulumi.output(args.plan);
        const specs = plan.apply((p) => memberCertificateSpecs(p.member, config.extraSans, args.stack, args.rotation, config.keyAlgorithm));
        const server = args.ca.issue(`${name}-server`, specs.server, config.certValidityDays, args.rotation, this);
        const peer = args.ca.issue(`${name}-peer`, specs.peer, config.certValidityDays, args.rotation, this);
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

        const unit = renderUnit({ memberName: name, dataDir: config.dataDir, walDir: config.walDir, gomaxprocs: args.gomaxprocs });
        const envFile = plan.apply((p) => renderEnvironmentFile(memberEnvironment(p.member, config), `etcd member ${name}`));
        const certs = pulumi.all([args.ca.certPem, server.certPem, peer.certPem]);
        // Keys are covered by the certificate they belong to: a new key always comes with a new certificate.
        this.configurationDigest = pulumi.all([envFile, certs]).apply(([env, pems]) =>
            sha256([config.etcdVersion, unit, env, ...pems].join("\n")).slice(0, 16));
        const release = this.configurationDigest.apply(releaseDir);
        const inlineFiles = pulumi.all([release, envFile]).apply(([dir, env]): HostFile[] => [
            { path: `${dir}/${RELEASE_FILES.env}`, mode: "640", owner: "root:etcd", content: env },
            { path: `${dir}/${RELEASE_FILES.unit}`, mode: "644", owner: "root:root", content: unit },
        ]);
        const certFiles = pulumi.all([release, certs]).apply(([dir, [ca, serverCert, peerCert]]): HostFile[] => [
            { path: `${dir}/${RELEASE_FILES.ca}`, mode: "644", owner: "root:root", content: ca },
            { path: `${dir}/${RELEASE_FILES.serverCert}`, mode: "644", owner: "root:root", content: serverCert },
            { path: `${dir}/${RELEASE_FILES.peerCert}`, mode: "644", owner: "root:root", content: peerCert },
        ]);
        const keys = [
            { file: RELEASE_FILES.serverKey, certificate: RELEASE_FILES.serverCert, pem: server.keyPem },
            { file: RELEASE_FILES.peerKey, certificate: RELEASE_FILES.peerCert, pem: peer.keyPem },
        ].map((k) => ({ ...k, path: release.apply((dir) => `${dir}/${k.file}`), mode: "600", owner: "etcd:etcd" }));
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
            create: step("configure", pulumi.all([inlineFiles, stdinManifest, this.configurationDigest]).apply(([files, manifest, digest]) => renderConfigureScript({
                memberName: name, dataDir: config.dataDir, walDir: config.walDir, digest, etcdBinary: binary(config.etcdVersion, "etcd"),
                inlineFiles: files, stdinFiles: manifest,
            }))),
            stdin,
            triggers,
        }, { parent: this, dependsOn: [install, ...(args.after ? [args.after.applied] : [])] });

        this.applyStep = (survey) => new command.remote.Command(`${name}-apply`, {
            connection,
            create: step("apply", pulumi.all([plan, this.configurationDigest, args.token, survey.mode]).apply(([p, digest, token, mode]) => renderApplyScript({
                member: p.member, members: p.all, etcdVersion: config.etcdVersion, dataDir: config.dataDir,
                digest, token, mode, timeoutSeconds: args.applyTimeoutSeconds,
            }))),
            triggers,
        }, { parent: this, dependsOn: [this.configured, survey.step] });
        this.registerOutputs({ configurationDigest: this.configurationDigest });
    }

    private readonly applyStep: (survey: Survey) => command.remote.Command;

    /** Adds the apply step, which must wait for the membership survey (which itself needs the first member configured). */
    apply(survey: Survey): command.remote.Command {
        this.applied = this.applyStep(survey);
        return this.applied;
    }
}
