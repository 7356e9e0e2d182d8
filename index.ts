import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components/cluster";
import { loadStackConfig } from "./components/config";
import { memberNames as targetMemberNames } from "./components/targets";
import { Machine } from "./components/targets/machine";
import { hostMachines } from "./components/targets/hosts";
import { awsMachines } from "./components/targets/aws/machines";
import { gcpMachines } from "./components/targets/gcp/machines";
import { installOutboundPorts } from "./components/scripts/install";
import { backupOutboundPorts } from "./components/backup/settings";
import { gcsMemberStore, hostMemberStore, MemberStore, s3MemberStore } from "./components/backup/memberStore";
import { gcsStore } from "./components/backup/gcsStore";
import { s3Store } from "./components/backup/s3Store";
import { gcsStoreReader, hostStoreReader, s3StoreReader, StoreReader } from "./components/backup/storeReader";

// Validation throws before any resource is registered.
const { config, target, backup, sshPrivateKey } = loadStackConfig();
const stack = pulumi.getStack();

// A cloud's bucket comes before its machines: they carry the identity that may write into it.
const s3 = backup && target.kind === "aws"
    ? s3Store(`etcd-${stack}`, { region: target.region, stack, retention: backup.retention, schedule: backup.schedule, kmsKeyId: target.kmsKeyId })
    : undefined;
const gcs = backup && target.kind === "gcp"
    ? gcsStore(`etcd-${stack}`, { location: target.region, project: target.project, stack, retention: backup.retention, schedule: backup.schedule })
    : undefined;

// The one place that picks the target: each only makes machines; the cluster on top is the same.
function machines(): Machine[] {
    if (target.kind === "hosts") return hostMachines(target, sshPrivateKey!);
    // The etcd layer says what members must reach; clouds open egress to exactly that.
    const cloud = {
        names: targetMemberNames(target, config.nodeCount), sshPrivateKey, prefix: `etcd-${stack}`,
        outboundPorts: [...installOutboundPorts(config), ...backupOutboundPorts(backup)],
    };
    if (target.kind === "aws") return awsMachines(target, { ...cloud, instanceProfile: s3?.instanceProfile.name });
    return gcpMachines(target, { ...cloud, serviceAccountEmail: gcs?.serviceAccountEmail });
}

function backupStore(): MemberStore {
    switch (target.kind) {
        case "hosts": return hostMemberStore("etcd", backup!, stack, sshPrivateKey!);
        case "aws": return s3MemberStore(s3!, target.region);
        case "gcp": return gcsMemberStore(gcs!);
    }
}

const store = backup && backupStore();

// A restore from the store reads with rights of its own, made only while restoreFrom names a store snapshot: the
// members' backup credentials stay write-only.
function restoreReader(): StoreReader | undefined {
    if (config.restore?.kind !== "store" || !backup || !store) return undefined;
    switch (target.kind) {
        case "hosts": return hostStoreReader("etcd", backup, stack, sshPrivateKey!, store.ready);
        case "aws": return s3StoreReader(`etcd-${stack}`, s3!, stack, target.region, target.kmsKeyId !== undefined);
        case "gcp": return gcsStoreReader(`etcd-${stack}`, gcs!, stack, target.project);
    }
}

// The clock picks the certificate renewal generation (components/renewal.ts): a preview differs only from the day
// certificates are due, which the certificatesRenewAfter output announces.
const cluster = new EtcdCluster("etcd", {
    config, machines: machines(), stack, now: Date.now(),
    backup: backup && store && { settings: backup, store },
    restoreReader: restoreReader(),
});

export const memberNames = cluster.memberNames;
export const clientEndpoints = cluster.clientEndpoints;
export const peerUrls = cluster.peerUrls;
export const caCertificate = cluster.caCertificate;
export const adminCertificate = cluster.admin.certPem;
export const adminPrivateKey = cluster.admin.keyPem;
export const clientCertificates = pulumi.secret(pulumi.output(Object.fromEntries(
    Object.entries(cluster.clients).map(([name, c]) => [name, { certificate: c.certPem, privateKey: c.keyPem, user: c.user, prefix: c.prefix, password: c.password }]))));
export const etcdctlEnvironment = cluster.etcdctlEnvironment;
export const kubeApiserverFlags = cluster.kubeApiserverFlags;
export const health = cluster.health.stdout;
export const preflight = cluster.preflight;
export const certificatesRenewAfter = cluster.certificatesRenewAfter;
export const backupStatus = cluster.backup;
