import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components/cluster";
import { loadStackConfig } from "./components/config";
import { memberNames as targetMemberNames } from "./components/targets";
import { Machine } from "./components/targets/machine";
import { hostMachines } from "./components/targets/hosts";
import { awsMachines } from "./components/targets/aws/machines";
import { downloadPort } from "./components/targets/cloud/downloads";

// Validation throws before any resource is registered.
const { config, target, sshPrivateKey } = loadStackConfig();

// The one place that picks the target: each only makes machines; the cluster on top is the same.
function machines(): Machine[] {
    switch (target.kind) {
        case "hosts": return hostMachines(target, sshPrivateKey!);
        case "aws": return awsMachines(target, {
            names: targetMemberNames(target, config.nodeCount),
            downloadPort: downloadPort(config), sshPrivateKey, prefix: `etcd-${pulumi.getStack()}`,
        });
    }
}

// The clock picks the certificate renewal generation (components/renewal.ts): a preview differs only from the day
// certificates are due, which the certificatesRenewAfter output announces.
const cluster = new EtcdCluster("etcd", { config, machines: machines(), stack: pulumi.getStack(), now: Date.now() });

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
