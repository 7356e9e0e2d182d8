import { Tier } from "../../../sizing";
import { canonicalHostKey } from "../../config/sshKeys";
import { ConfigReader, parseWholeNumber } from "../../config/reader";
import { Bastion, readBastion } from "../cloud/bastion";
import { readCidrList } from "../cloud/cidr";
import { LOGIN_NAME } from "../cloud/loginName";
import { machineTypeProblem } from "../cloud/machineShape";
import { DiskSpec, tierDisk } from "./diskSpecs";
import { DISK_TYPES, DiskType, MACHINE_TYPES } from "./machineTypes";

/** The `gcp` target's settings (`etcd-cluster:gcp`), checked before any resource exists. */

export interface GcpTarget {
    kind: "gcp";
    project: string;
    region: string;
    /** The VPC network the firewall rules belong to (name or path). */
    network: string;
    /** The members' subnetwork in `region` (name or path): their reserved addresses come from it. */
    subnetwork: string;
    /** Zones of the region, in the order members are spread over them. */
    zones: string[];
    /** Pinned image (projects/<project>/global/images/<name>): a new image is a deliberate change, rolled one member at a time. */
    image: string;
    /** The dedicated login user created at first boot. */
    user: string;
    machineType: string;
    data: DiskSpec;
    wal: DiskSpec;
    /** Cloud KMS key (customer-managed encryption key) for the data, WAL and boot disks; Google-managed keys otherwise. */
    kmsKeyName?: string;
    clientCidrs: string[];
    /** Network tags of client instances allowed on 2379. */
    clientTags: string[];
    adminCidrs: string[];
    /** Members accept SSH from the bastion's network tag (`source`). */
    bastion?: Bastion;
    /** The public half of `sshPrivateKey`, installed for `user`; without it the program generates a login key. */
    loginPublicKey?: string;
}

export const GCP_KEYS = ["gcp"] as const;
const FIELDS = ["project", "region", "network", "subnetwork", "zones", "image", "user", "machineType", "diskType",
    "dataDiskGB", "walDiskGB", "kmsKeyName", "clientCidrs", "clientTags", "adminCidrs", "bastion", "loginPublicKey"] as const;
export const GCP_DEFAULTS = { user: "etcd-admin", diskType: "pd-ssd" } as const;

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;
/** A Compute Engine resource name (RFC 1035 label), as networks, subnetworks and network tags are. */
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const API = "(https://www\\.googleapis\\.com/compute/v1/)?";
const NETWORK_PATH = new RegExp(`^${API}projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`);
const subnetworkPath = (region: string) => new RegExp(`^${API}projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/regions/${region}/subnetworks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`);
const IMAGE_PATH = new RegExp(`^${API}projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/global/images/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`);
const KMS_KEY = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;
const MEMBERS_ARE_IPV4 = "members have IPv4 internal addresses only, so etcd is not reached over IPv6; allowed: IPv4 CIDR blocks";

export function readGcpTarget(r: ConfigReader, cluster: { nodeCount?: number; tier?: Tier; size?: string }): GcpTarget | undefined {
    const before = r.errors.length;
    const gcp = r.object("gcp", FIELDS);
    if (!gcp) return undefined;
    const at = (field: string) => `gcp.${field}`;
    const need = (field: string, what: string) => r.missing(at(field), what);

    const project = gcp.project;
    if (project === undefined) need("project", "the id of the Google Cloud project the members are created in, e.g. my-project-123456");
    else if (typeof project !== "string" || !PROJECT_ID.test(project)) r.bad(at("project"), project, "expected a project id: 6-30 lower-case letters, digits and hyphens, starting with a letter");

    const region = gcp.region;
    if (region === undefined) need("region", "the Compute Engine region, e.g. europe-west1");
    else if (typeof region !== "string" || !REGION.test(region)) r.bad(at("region"), region, "expected a region name such as europe-west1 or us-central1");
    const regionOk = typeof region === "string" && REGION.test(region);

    const network = gcp.network;
    if (network === undefined) need("network", "the VPC network of the members' subnetwork (a name, or projects/<project>/global/networks/<name> for a Shared VPC)");
    else if (typeof network !== "string" || !(NAME.test(network) || NETWORK_PATH.test(network))) r.bad(at("network"), network, "expected a network name or projects/<project>/global/networks/<name>");

    const subnetwork = gcp.subnetwork;
    if (subnetwork === undefined) need("subnetwork", "the subnetwork in the region members get their addresses from (a name, or projects/<project>/regions/<region>/subnetworks/<name>)");
    else if (typeof subnetwork !== "string" || !(NAME.test(subnetwork) || (regionOk && subnetworkPath(region).test(subnetwork)))) {
        r.bad(at("subnetwork"), subnetwork, regionOk ? `expected a subnetwork name or projects/<project>/regions/${region}/subnetworks/<name> (a subnetwork of ${region})` : "expected a subnetwork name");
    }

    const zones: string[] = [];
    const rawZones = gcp.zones;
    if (rawZones === undefined || (Array.isArray(rawZones) && rawZones.length === 0)) {
        need("zones", "the zones of the region members may use, e.g. [europe-west1-b, europe-west1-c, europe-west1-d]");
    } else if (!Array.isArray(rawZones)) {
        r.bad(at("zones"), rawZones, "expected a list of zone names");
    } else {
        rawZones.forEach((zone, i) => {
            const key = at(`zones[${i}]`);
            if (typeof zone !== "string" || (regionOk && !new RegExp(`^${region}-[a-z]$`).test(zone)) || (!regionOk && !/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone))) {
                r.bad(key, zone ?? null, regionOk ? `not a zone of ${region}; allowed: ${region}-a, ${region}-b, ... (zones of the configured region)` : "expected a zone name such as europe-west1-b");
            } else if (zones.includes(zone)) {
                r.bad(key, zone, "each zone is listed once: members are spread across the listed zones");
            } else {
                zones.push(zone);
            }
        });
    }

    const image = gcp.image;
    if (image === undefined) need("image", "a pinned image, projects/<project>/global/images/<name>; see README, \"Quick start on GCP\", for how to look one up");
    else if (typeof image !== "string" || !IMAGE_PATH.test(image)) {
        r.bad(at("image"), image, "expected a pinned image, projects/<project>/global/images/<name> (not an image family): the program never floats to a newest image");
    }

    const user = gcp.user ?? GCP_DEFAULTS.user;
    if (typeof user !== "string" || !LOGIN_NAME.test(user) || user === "root") r.bad(at("user"), user, "expected a login name other than root, e.g. etcd-admin: a dedicated user created at first boot");

    const tier = cluster.tier;
    const machineType = gcp.machineType ?? tier?.gcp.machineType;
    if (gcp.machineType !== undefined && tier) {
        const problem = typeof machineType === "string" ? machineTypeProblem(machineType, MACHINE_TYPES, tier.gcp, `${cluster.size}`) : "expected a machine type name such as n2-standard-4";
        if (problem) r.bad(at("machineType"), machineType, problem);
    }

    const diskType = gcp.diskType ?? GCP_DEFAULTS.diskType;
    const diskTypeOk = (DISK_TYPES as readonly unknown[]).includes(diskType);
    if (!diskTypeOk) r.bad(at("diskType"), diskType, `allowed: ${DISK_TYPES.join(", ")}`);
    else {
        const accepted = typeof machineType === "string" ? MACHINE_TYPES[machineType]?.diskTypes : undefined;
        if (accepted && !accepted.includes(diskType as DiskType)) {
            r.bad(at("diskType"), diskType, `${machineType} does not take ${diskType} disks; allowed with it: ${accepted.join(", ")} (hyperdisk-balanced needs a c3-standard machine type)`);
        }
        if (diskType === "pd-balanced") r.warnings.push(`${at("diskType")}: pd-balanced gives fewer IOPS per GB than the pd-ssd etcd's hardware guide sizes its tiers with; check the WAL's fsync latency in the preflight output`);
    }
    const size = (field: string): number | undefined => {
        const v = gcp[field];
        const min = tier?.gcp.diskGB ?? 10;
        if (v === undefined) return tier?.gcp.diskGB;
        const n = parseWholeNumber(v);
        if (n === undefined || n < 1 || n > 65536) { r.bad(at(field), v, "expected a whole number of GB, at most 65536"); return undefined; }
        if (n < min) { r.bad(at(field), v, `below the ${cluster.size} tier's ${min} GB (persistent disk performance grows with size); allowed: at least that, or a smaller size tier`); return undefined; }
        return n;
    };
    const dataDiskGB = size("dataDiskGB");
    const walDiskGB = size("walDiskGB");
    const data = tier && diskTypeOk && dataDiskGB !== undefined ? tierDisk(diskType as DiskType, dataDiskGB, tier.gcp) : undefined;
    const wal = tier && diskTypeOk && walDiskGB !== undefined ? tierDisk(diskType as DiskType, walDiskGB, tier.gcp) : undefined;

    const kmsKeyName = gcp.kmsKeyName;
    if (kmsKeyName !== undefined && (typeof kmsKeyName !== "string" || !KMS_KEY.test(kmsKeyName))) {
        r.bad(at("kmsKeyName"), kmsKeyName, "expected a Cloud KMS key, projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key> (no key version); leave it unset for Google-managed encryption");
    }

    const clientCidrs = readCidrList(r, at("clientCidrs"), gcp.clientCidrs, "the client port 2379", MEMBERS_ARE_IPV4);
    const adminCidrs = readCidrList(r, at("adminCidrs"), gcp.adminCidrs, "SSH", MEMBERS_ARE_IPV4);
    const clientTags = (() => {
        const list = gcp.clientTags ?? [];
        if (!Array.isArray(list)) { r.bad(at("clientTags"), list, "expected a list of network tags"); return []; }
        return list.filter((t, i) => {
            const ok = typeof t === "string" && NAME.test(t);
            if (!ok) r.bad(at(`clientTags[${i}]`), t, "expected a network tag (lower-case letters, digits and hyphens, starting with a letter)");
            return ok;
        }) as string[];
    })();

    const bastion = gcp.bastion === undefined ? undefined : readBastion(r, at("bastion"), gcp.bastion, {
        field: "tag", valid: (t) => typeof t === "string" && NAME.test(t), expected: "the bastion's network tag", defaultUser: "admin",
    });
    if (adminCidrs.length === 0 && gcp.bastion === undefined && !r.errors.some((e) => e.includes(at("adminCidrs")))) {
        r.missing(at("adminCidrs"), "members accept SSH only from admin networks (gcp.adminCidrs, e.g. [10.0.0.0/24], where this program runs) or through a bastion (gcp.bastion); set one of them");
    }

    const loginPublicKey = gcp.loginPublicKey;
    let loginLine: string | undefined;
    if (loginPublicKey !== undefined) {
        loginLine = canonicalHostKey(loginPublicKey);
        if (!loginLine) r.bad(at("loginPublicKey"), loginPublicKey, "expected an SSH public key line (ssh-ed25519 AAAA...), the public half of sshPrivateKey");
        else if (!r.secretsSet.has("sshPrivateKey")) r.missing("sshPrivateKey", "the private half of gcp.loginPublicKey; set it with `pulumi config set --secret sshPrivateKey < key`, or leave gcp.loginPublicKey unset to have a login key generated");
    }

    if (r.errors.length > before || !data || !wal || typeof machineType !== "string") return undefined;
    return {
        kind: "gcp", project: project as string, region: region as string, network: network as string, subnetwork: subnetwork as string,
        zones, image: image as string, user: user as string, machineType, data, wal, kmsKeyName: kmsKeyName as string | undefined,
        clientCidrs, clientTags, adminCidrs, bastion, loginPublicKey: loginLine,
    };
}
