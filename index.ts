import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components/cluster";
import { loadStackConfig } from "./components/config";
import { hostMachines } from "./components/hosts";

// Validation throws before any resource is registered.
const { config, sshPrivateKey } = loadStackConfig();
const machines = hostMachines(config.hosts, sshPrivateKey);
const cluster = new EtcdCluster("etcd", { config, machines, stack: pulumi.getStack() });

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
