import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { sha256 } from "./digest";
import { DEFRAG, renderDefragScript, renderDefragService, renderDefragTimer } from "./defrag";
import { memberCertificateSpecs } from "./certificates";
import { bootstrapEnvironment, memberEnvironment, renderEnvironmentFile } from "./environment";
import { encodeBundle, HostFile } from "./fileBundle";
import { BOOTSTRAP_ENV_FILE, ENV_FILE, PKI, UNIT_FILE } from "./layout";
import { Machine } from "./targets/machine";
import { MemberPlan } from "./plan";
import { EtcdCa } from "./pki";
import { renderApplyScript } from "./scripts/apply";
import { renderConfigureScript } from "./scripts/configure";
import { DiskSpec, renderPrepareDisksScript } from "./scripts/disks";
import { parsePreflightFigures, PreflightFigures, renderMachineChecksScript, requiredDataBytes } from "./scripts/preflight";
import { InstallSource, renderInstallScript, uploadedArchivePath } from "./scripts/install";
import { remoteCommand } from "./scripts/remote";
import { renderUnit } from "./unit";

/** Files etcd never reads: changing them must not restart the member (they stay out of its configuration digest). */
const NOT_RESTARTING = new Set<string>([BOOTSTRAP_ENV_FILE, DEFRAG.script, DEFRAG.service, DEFRAG.timer]);

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

/**
 * One etcd member on one machine: certificates, then four convergent remote steps: upload (offline installs only),
 * install, configure, apply. Every step carries the machine's identity, so a replaced machine is set up again.
 */
export class EtcdMember extends pulumi.ComponentResource {
    readonly memberName: string;
    /** The step the next member waits for. */
    readonly applied: command.remote.Command;
    /** Changes whenever a file that needs a restart changes. */
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

        // Disks and preflight checks are per machine and run on every member at once; only configure and apply
        // are chained member after member.
        const devices = [machine.dataDevice, machine.walDevice];
        const disks = devices.some((d) => d !== undefined) ? new command.remote.Command(`${name}-disks`, {
            connection,
            create: step("prepare disks of", pulumi.all(devices).apply(([data, wal]) => renderPrepareDisksScript({
                memberName: name,
                disks: [
                    ...(data ? [{ role: "data", device: data, mountPoint: config.dataDir } satisfies DiskSpec] : []),
                    ...(wal ? [{ role: "wal", device: wal, mountPoint: config.walDir } satisfies DiskSpec] : []),
                ],
            }))),
            triggers,
        }, { parent: this, dependsOn: machine.dependsOn }) : undefined;
        const preflight = new command.remote.Command(`${name}-checks`, {
            connection,
            create: step("preflight checks on", renderMachineChecksScript({
                memberName: name, dataDir: config.dataDir, walDir: config.walDir, ...config.preflight,
                requiredDataBytes: requiredDataBytes(config.quotaBackendBytes),
            })),
            triggers,
        }, { parent: this, dependsOn: disks ? [disks] : machine.dependsOn });
        this.preflight = preflight.stdout.apply(parsePreflightFigures);

        const mountPoints = [...(machine.dataDevice !== undefined ? [config.dataDir] : []), ...(machine.walDevice !== undefined ? [config.walDir] : [])];
        const unit = renderUnit({ memberName: name, etcdVersion: config.etcdVersion, dataDir: config.dataDir, walDir: config.walDir, gomaxprocs: args.gomaxprocs, mountPoints });
        const inlineFiles = pulumi.all([plan, args.token]).apply(([p, token]): HostFile[] => [
            { path: ENV_FILE, mode: "640", owner: "root:etcd", content: renderEnvironmentFile(memberEnvironment(p.member, config), `etcd member ${name}`) },
            { path: BOOTSTRAP_ENV_FILE, mode: "640", owner: "root:etcd", content: renderEnvironmentFile(bootstrapEnvironment(p.all, token), "read by etcd only when its data dir is empty") },
            { path: UNIT_FILE, mode: "644", owner: "root:root", content: unit },
            { path: DEFRAG.script, mode: "755", owner: "root:root", content: renderDefragScript({
                etcdVersion: config.etcdVersion, ownEndpoint: p.member.clientUrl, endpoints: p.all.map((m) => m.clientUrl),
            }) },
            { path: DEFRAG.service, mode: "644", owner: "root:root", content: renderDefragService(name) },
            { path: DEFRAG.timer, mode: "644", owner: "root:root", content: renderDefragTimer(name, p.all.findIndex((m) => m.name === name)) },
        ]);
        const certFiles = pulumi.all([args.ca.certPem, server.certPem, peer.certPem, args.peerCa.certPem]).apply(([ca, serverCert, peerCert, peerCa]): HostFile[] => [
            { path: PKI.ca, mode: "644", owner: "root:root", content: ca },
            { path: PKI.peerCa, mode: "644", owner: "root:root", content: config.peerCaMigration === "none" ? peerCa : `${peerCa}${ca}` },
            { path: PKI.serverCert, mode: "644", owner: "root:root", content: serverCert },
            { path: PKI.peerCert, mode: "644", owner: "root:root", content: peerCert },
        ]);
        const keys = [
            { path: PKI.serverKey, mode: "600", owner: "etcd:etcd", certificate: PKI.serverCert, pem: server.keyPem },
            { path: PKI.peerKey, mode: "600", owner: "etcd:etcd", certificate: PKI.peerCert, pem: peer.keyPem },
        ];
        const stdin = pulumi.secret(pulumi.all([certFiles, pulumi.all(keys.map((k) => k.pem))]).apply(([certs, pems]) => encodeBundle([
            ...certs,
            ...keys.map((k, i) => ({ path: k.path, mode: k.mode, owner: k.owner, content: pems[i] })),
        ])));
        // Keys are described by the certificate they belong to: a new key always comes with a new certificate.
        const stdinManifest = certFiles.apply((certs) => [
            ...certs.map((c) => ({ path: c.path, mode: c.mode, owner: c.owner, fingerprint: `sha256 ${sha256(c.content).slice(0, 16)}` })),
            ...keys.map((k) => ({ path: k.path, mode: k.mode, owner: k.owner, fingerprint: `key of ${k.certificate}` })),
        ]);
        const configure = new command.remote.Command(`${name}-configure`, {
            connection,
            create: step("configure", pulumi.all([inlineFiles, stdinManifest]).apply(([files, manifest]) => renderConfigureScript({
                memberName: name, dataDir: config.dataDir, walDir: config.walDir, inlineFiles: files, stdinFiles: manifest,
            }))),
            stdin,
            triggers,
        }, { parent: this, dependsOn: [install, preflight, ...(args.after ? [args.after.applied] : [])] });

        this.configurationDigest = pulumi.all([inlineFiles, certFiles]).apply(([files, certs]) =>
            sha256([...files.filter((f) => !NOT_RESTARTING.has(f.path)), ...certs].map((f) => `${f.path}\n${f.content}`).join("\n")).slice(0, 16));
        this.applied = new command.remote.Command(`${name}-apply`, {
            connection,
            create: step("apply", pulumi.all([plan, this.configurationDigest]).apply(([p, digest]) => renderApplyScript({
                memberName: name, clientUrl: p.member.clientUrl, dataDir: config.dataDir, configurationDigest: digest,
                etcdVersion: config.etcdVersion, endpoints: p.all.map((m) => m.clientUrl), timeoutSeconds: args.applyTimeoutSeconds,
            }))),
            triggers,
        }, { parent: this, dependsOn: [configure] });
        this.registerOutputs({ configurationDigest: this.configurationDigest });
    }
}
