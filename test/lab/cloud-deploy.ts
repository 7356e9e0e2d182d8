// An AWS stack deployed into the lab: the lab's account (one VPC whose subnets, one per zone, all are the lab's /24,
// and two registered images, both the lab image) and the stack config a user would set for it. The program's own
// login key (a generated tls key registered as a key pair) logs in; the lab reads it from the runtime's state, as an
// operator would from `pulumi stack export`.
import { createHash } from "node:crypto";
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

/** Registers the lab's VPC, subnets and images in the lab's cloud account (once; a running lab keeps its account). */
export async function openLabAccount(dir: string): Promise<void> {
    // The runtime's cloud stand-ins work in the lab's own directory (hosts, disks, account).
    if (resolve(dir) !== labDir()) throw new Error(`a cloud stack deploys into the lab's own directory ${labDir()}, not ${dir}`);
    const store = new CloudStore(cloudFile(dir));
    const a = store.account;
    if (!a.networks.includes(LAB_AWS.vpcId)) a.networks.push(LAB_AWS.vpcId);
    for (const s of LAB_AWS.subnets) if (!a.subnets.some((x) => x.id === s.id)) a.subnets.push({ ...s, network: LAB_AWS.vpcId });
    for (const image of LAB_AWS.images) if (!a.images.includes(image)) a.images.push(image);
    await store.save();
}

const LOGIN_USER = "admin";

/**
 * The AWS stack for `nodes` members on the lab: a Nitro type of the small tier, lab-sized volumes, the lab gateway
 * (where the runtime and the tests' clients run) as the admin and a client network, plus `clientCidrs`. `aws` and
 * `extra` override settings and other config keys.
 */
export function awsLabStack(lab: LabHosts, opts: { nodes: number; clientCidrs?: string[]; aws?: Record<string, unknown>; extra?: Record<string, unknown> }): CloudStack {
    const config: Record<string, unknown> = {
        target: "aws",
        nodeCount: opts.nodes,
        aws: {
            region: LAB_AWS.region, vpcId: LAB_AWS.vpcId, subnets: LAB_AWS.subnets, ami: LAB_AWS.images[0], user: LOGIN_USER,
            instanceType: "m6i.large", dataVolumeGiB: 8, walVolumeGiB: 8,
            clientCidrs: [`${GATEWAY}/32`, ...(opts.clientCidrs ?? [])], adminCidrs: [`${GATEWAY}/32`],
            ...opts.aws,
        },
        preflight: LAB_PREFLIGHT,
        etcdVersion: lab.etcdVersion,
        etcdArchive: lab.etcdArchive,
        etcdSha256: createHash("sha256").update(readFileSync(lab.etcdArchive)).digest("hex"),
        clientCertificates: LAB_CLIENTS,
        ...opts.extra,
    };
    return {
        config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`etcd-cluster:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
        sshUser: LOGIN_USER,
        sshKey: loginKeyFile,
    };
}

/** Writes the stack's generated login key (from the runtime's state) to <dir>/login-key and returns its path. */
function loginKeyFile(dir: string): string {
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { resources: Record<string, StoredResource> };
    const key = Object.values(state.resources).find((r) => r.type === "tls:index/privateKey:PrivateKey" && r.name.endsWith("-login-key"));
    if (!key) throw new Error("the stack's state holds no login key (aws.keyPair set?)");
    const file = join(dir, "login-key");
    writeFileSync(file, String(key.outputs.privateKeyOpenssh), { mode: 0o600 });
    return file;
}
