// A cloud stack (AWS or GCP) deployed into the lab: the lab's account (cloud-store.ts) with the networks, zones and
// images each cloud's stack names, and the stack config a user would set for it. The program's own
// login key (a generated tls key: an EC2 key pair, or a user in the GCP instances' user-data) logs in; the lab reads it from the runtime's state, as an
// operator would from `pulumi stack export`.
import { createHash } from "node:crypto";
import { GCP_DEFAULTS } from "../../components/targets/gcp/config";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CloudStore, cloudFile } from "./cloud-store";
import { CloudStack, LAB_CLIENTS, LAB_PREFLIGHT } from "./deploy";
import { LabHosts } from "./hosts";
import { labDir } from "./lab-id";
import { GATEWAY } from "./netns";
import { StoredResource } from "./runtime-state";

const hexId = (prefix: string, n: number) => `${prefix}-${n.toString(16).padStart(17, "0")}`;

export const LAB_AWS = {
    region: "eu-west-1",
    vpcId: hexId("vpc", 1),
    subnets: ["a", "b", "c"].map((zone, i) => ({ id: hexId("subnet", i + 1), zone: `eu-west-1${zone}` })),
    /** Two image ids, both booting the lab image: changing the stack's `aws.ami` from one to the other is a new image. */
    images: [hexId("ami", 1), hexId("ami", 2)],
} as const;

export const LAB_GCP = {
    project: "etcd-lab-project",
    region: "europe-west1",
    network: "lab-vpc",
    subnetwork: "lab-subnet",
    zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
    /** Two images, both booting the lab image: changing the stack's `gcp.image` from one to the other is a new image. */
    images: ["projects/etcd-lab-images/global/images/lab-debian-1", "projects/etcd-lab-images/global/images/lab-debian-2"],
} as const;

/**
 * Registers the lab's clouds in its account (once; a running lab keeps its account): for EC2 a VPC whose subnets, one
 * per zone, all are the lab's /24; for Compute Engine a network with one subnetwork, that /24, in a region of three
 * zones; for each two images, all booting the lab image.
 */
export async function openLabAccount(dir: string): Promise<void> {
    // The runtime's cloud stand-ins work in the lab's own directory (hosts, disks, account).
    if (resolve(dir) !== labDir()) throw new Error(`a cloud stack deploys into the lab's own directory ${labDir()}, not ${dir}`);
    const store = new CloudStore(cloudFile(dir));
    const a = store.account;
    const add = <T>(list: T[], item: T, same: (x: T) => boolean) => { if (!list.some(same)) list.push(item); };
    for (const network of [LAB_AWS.vpcId, LAB_GCP.network]) add(a.networks, network, (x) => x === network);
    for (const s of LAB_AWS.subnets) add(a.subnets, { ...s, network: LAB_AWS.vpcId }, (x) => x.id === s.id);
    add(a.subnets, { id: LAB_GCP.subnetwork, zone: LAB_GCP.region, network: LAB_GCP.network }, (x) => x.id === LAB_GCP.subnetwork);
    for (const zone of LAB_GCP.zones) add(a.zones, zone, (x) => x === zone);
    for (const image of [...LAB_AWS.images, ...LAB_GCP.images]) add(a.images, image, (x) => x === image);
    await store.save();
}

const AWS_USER = "admin";

interface LabStackOptions { nodes: number; clientCidrs?: string[]; extra?: Record<string, unknown> }

/**
 * A cloud stack for `nodes` members on the lab: the target's settings (`settings`, given the client and admin networks:
 * the lab gateway, where the runtime and the tests' clients run, plus `clientCidrs`), the lab's etcd archive and
 * client certificates; `extra` overrides config keys. The stack's generated login key logs in as `user`.
 */
function labStack(lab: LabHosts, target: "aws" | "gcp", user: string, opts: LabStackOptions, settings: (networks: { clientCidrs: string[]; adminCidrs: string[] }) => Record<string, unknown>): CloudStack {
    const config: Record<string, unknown> = {
        target,
        nodeCount: opts.nodes,
        [target]: settings({ clientCidrs: [`${GATEWAY}/32`, ...(opts.clientCidrs ?? [])], adminCidrs: [`${GATEWAY}/32`] }),
        preflight: LAB_PREFLIGHT,
        etcdVersion: lab.etcdVersion,
        etcdArchive: lab.etcdArchive,
        etcdSha256: createHash("sha256").update(readFileSync(lab.etcdArchive)).digest("hex"),
        clientCertificates: LAB_CLIENTS,
        ...opts.extra,
    };
    return {
        config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`etcd-cluster:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
        sshUser: user,
        sshKey: loginKeyFile,
    };
}

/** The AWS stack on the lab's EC2: a Nitro type of the small tier, lab-sized volumes; `aws` overrides settings. */
export function awsLabStack(lab: LabHosts, opts: LabStackOptions & { aws?: Record<string, unknown> }): CloudStack {
    return labStack(lab, "aws", AWS_USER, opts, (networks) => ({
        region: LAB_AWS.region, vpcId: LAB_AWS.vpcId, subnets: LAB_AWS.subnets, ami: LAB_AWS.images[0], user: AWS_USER,
        instanceType: "m6i.large", dataVolumeGiB: 8, walVolumeGiB: 8, ...networks, ...opts.aws,
    }));
}

/**
 * The GCP stack on the lab's Compute Engine: the small tier's machine type and disks (sparse files: their size costs
 * nothing), the default login user; `gcp` overrides settings.
 */
export function gcpLabStack(lab: LabHosts, opts: LabStackOptions & { gcp?: Record<string, unknown> }): CloudStack {
    const { images, ...place } = LAB_GCP;
    const settings: Record<string, unknown> = { ...place, image: images[0], ...opts.gcp };
    return labStack(lab, "gcp", String(settings.user ?? GCP_DEFAULTS.user), opts, (networks) => ({ ...settings, ...networks }));
}

/** Writes the stack's generated login key (from the runtime's state) to <dir>/login-key and returns its path. */
function loginKeyFile(dir: string): string {
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { resources: Record<string, StoredResource> };
    const key = Object.values(state.resources).find((r) => r.type === "tls:index/privateKey:PrivateKey" && r.name.endsWith("-login-key"));
    if (!key) throw new Error("the stack's state holds no generated login key (aws.keyPair or gcp.loginPublicKey set?)");
    const file = join(dir, "login-key");
    writeFileSync(file, String(key.outputs.privateKeyOpenssh), { mode: 0o600 });
    return file;
}
