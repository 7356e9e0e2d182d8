import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components/cluster";
import { loadStackConfig } from "./components/config";
import { Machine } from "./components/targets/machine";
import { hostMachines } from "./components/targets/hosts";

// Validation throws before any resource is registered.
const { config, target, sshPrivateKey } = loadStackConfig();

// The one place that picks the target: each only makes machines; the cluster on top is the same.
function machines(): Machine[] {
    switch (target.kind) {
        case "hosts": return hostMachines(target, sshPrivateKey);
    }
}

const cluster = new EtcdCluster("etcd", { config, machines: machines(), stack: pulumi.getStack() });

export const memberNames = cluster.memberNames;
export const clientEndpoints = cluster.clientEndpoints;
export const peerUrls = cluster.peerUrls;
export const caCertificate = cluster.caCertificate;
export const adminCertificate = cluster.admin.certPem;
export const adminPrivateKey = cluster.admin.keyPem;
export const clientCertificates = pulumi.secret(pulumi.output(Object.fromEntries(
    Object.entries(cluster.clients).map(([name, pair]) => [name, { certificate: pair.certPem, privateKey: pair.keyPem }]))));
export const etcdctlEnvironment = cluster.etcdctlEnvironment;
export const kubeApiserverFlags = cluster.kubeApiserverFlags;
export const health = cluster.health.stdout;
export const preflight = cluster.preflight;
