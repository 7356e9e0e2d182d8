import { Tier } from "../../../sizing";
import { ConfigReader, PROJECT, parseWholeNumber } from "../../config/reader";
import { Bastion, readBastion } from "../cloud/bastion";
import { readCidrList } from "../cloud/cidr";
import { LOGIN_NAME } from "../cloud/loginName";
import { machineTypeProblem } from "../cloud/machineShape";
import { INSTANCE_TYPES } from "./instanceTypes";
import { VOLUME_TYPES, VolumeSpec, VolumeType, tierPerformance, volumeProblems } from "./volumes";

/** The `aws` target's settings (`etcd-cluster:aws`), checked before any resource exists. */

export interface AwsSubnet { id: string; zone: string }

export interface AwsTarget {
    kind: "aws";
    region: string;
    vpcId: string;
    /** One subnet per availability zone, in the order members are spread over them. */
    subnets: AwsSubnet[];
    /** Pinned image id: a new image is a deliberate change, rolled one member at a time. */
    ami: string;
    /** The image's login user (admin on Debian, ec2-user on Amazon Linux, ubuntu on Ubuntu). */
    user: string;
    instanceType: string;
    /** EBS volumes are NVMe devices (Nitro) rather than Xen block devices. */
    nitro: boolean;
    data: VolumeSpec;
    wal: VolumeSpec;
    kmsKeyId?: string;
    clientCidrs: string[];
    clientSecurityGroups: string[];
    adminCidrs: string[];
    /** Members accept SSH from the bastion's security group (`source`). */
    bastion?: Bastion;
    /** An existing EC2 key pair whose private key is `sshPrivateKey`; without it the program generates a login key. */
    keyPair?: string;
}

export const AWS_KEYS = ["aws"] as const;
const FIELDS = ["region", "vpcId", "subnets", "ami", "user", "instanceType", "volumeType", "iops", "throughputMBps",
    "dataVolumeGiB", "walVolumeGiB", "kmsKeyId", "clientCidrs", "clientSecurityGroups", "adminCidrs", "bastion", "keyPair"] as const;
export const AWS_DEFAULTS = { volumeType: "gp3", dataVolumeGiB: 64, walVolumeGiB: 32 } as const;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const id = (prefix: string) => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);

export function readAwsTarget(r: ConfigReader, cluster: { nodeCount?: number; tier?: Tier; size?: string }): AwsTarget | undefined {
    const before = r.errors.length;
    const aws = r.object("aws", FIELDS);
    if (!aws) return undefined;
    const at = (field: string) => `aws.${field}`;
    const need = (field: string, what: string) => r.missing(at(field), what);

    const region = aws.region;
    if (region === undefined) need("region", "the AWS region, e.g. eu-west-1");
    else if (typeof region !== "string" || !REGION.test(region)) r.bad(at("region"), region, "expected an AWS region name such as us-east-1 or eu-west-1");
    const regionOk = typeof region === "string" && REGION.test(region);

    const vpcId = aws.vpcId;
    if (vpcId === undefined) need("vpcId", "the id of the VPC the members' subnets belong to (vpc-...)");
    else if (typeof vpcId !== "string" || !id("vpc").test(vpcId)) r.bad(at("vpcId"), vpcId, "expected a VPC id (vpc- and 8 or 17 hex digits)");

    const subnets: AwsSubnet[] = [];
    const rawSubnets = aws.subnets;
    if (rawSubnets === undefined || (Array.isArray(rawSubnets) && rawSubnets.length === 0)) {
        need("subnets", "one entry { id, zone } per availability zone members may use, e.g. [{ id: subnet-0123456789abcdef0, zone: eu-west-1a }]");
    } else if (!Array.isArray(rawSubnets)) {
        r.bad(at("subnets"), rawSubnets, "expected a list of { id, zone }");
    } else {
        rawSubnets.forEach((s, i) => {
            const key = at(`subnets[${i}]`);
            if (typeof s !== "object" || s === null || Array.isArray(s)) { r.bad(key, s, "expected { id, zone }"); return; }
            const entry = s as Record<string, unknown>;
            if (!r.knownKeys(key, entry, ["id", "zone"])) return;
            const ok = { id: true, zone: true };
            if (typeof entry.id !== "string" || !id("subnet").test(entry.id)) { r.bad(`${key}.id`, entry.id ?? null, "expected a subnet id (subnet- and 8 or 17 hex digits)"); ok.id = false; }
            else if (subnets.some((x) => x.id === entry.id)) { r.bad(`${key}.id`, entry.id, "each subnet is listed once"); ok.id = false; }
            const zone = entry.zone;
            if (typeof zone !== "string" || (regionOk && !new RegExp(`^${region}[a-z]$`).test(zone)) || (!regionOk && !/^[a-z0-9-]+[a-z]$/.test(zone))) {
                r.bad(`${key}.zone`, zone ?? null, regionOk ? `not an availability zone of ${region}; allowed: ${region}a, ${region}b, ... (the zone the subnet is in)` : "expected an availability zone name such as eu-west-1a");
                ok.zone = false;
            } else if (subnets.some((x) => x.zone === zone)) {
                r.bad(`${key}.zone`, zone, "one subnet per availability zone: members are spread across zones, and two subnets in one zone would not spread them");
                ok.zone = false;
            }
            if (ok.id && ok.zone) subnets.push({ id: entry.id as string, zone: zone as string });
        });
    }

    const ami = aws.ami;
    if (ami === undefined) need("ami", "a pinned image id (ami-...) for the region; see README, \"AWS\", for how to look one up");
    else if (typeof ami !== "string" || !id("ami").test(ami)) r.bad(at("ami"), ami, "expected an image id (ami- and 8 or 17 hex digits), pinned: the program never looks up a newest image");

    const user = aws.user;
    if (user === undefined) need("user", "the image's login user: admin (Debian), ec2-user (Amazon Linux), ubuntu (Ubuntu)");
    else if (typeof user !== "string" || !LOGIN_NAME.test(user)) r.bad(at("user"), user, "expected a login name such as admin, ec2-user or ubuntu");

    const tier = cluster.tier;
    const instanceType = aws.instanceType ?? tier?.aws.instanceType;
    if (aws.instanceType !== undefined && tier) {
        const problem = typeof instanceType === "string" ? machineTypeProblem(instanceType, INSTANCE_TYPES, tier.aws, `${cluster.size}`) : "expected an instance type name such as m6i.large";
        if (problem) r.bad(at("instanceType"), instanceType, problem);
    }

    const volumeType = aws.volumeType ?? AWS_DEFAULTS.volumeType;
    if (!(VOLUME_TYPES as readonly unknown[]).includes(volumeType)) r.bad(at("volumeType"), volumeType, `allowed: ${VOLUME_TYPES.join(", ")}`);
    const whole = (field: string, min: number, max: number, what: string): number | undefined => {
        const v = aws[field];
        if (v === undefined) return undefined;
        const n = parseWholeNumber(v);
        if (n === undefined || n < min || n > max) { r.bad(at(field), v, what); return undefined; }
        return n;
    };
    const iops = whole("iops", 1, 1_000_000, "expected a whole number of IOPS");
    const throughput = whole("throughputMBps", 1, 100_000, "expected a whole number of MiB/s");
    const dataVolumeGiB = whole("dataVolumeGiB", 1, 65536, "expected a whole number of GiB, 1-65536") ?? AWS_DEFAULTS.dataVolumeGiB;
    const walVolumeGiB = whole("walVolumeGiB", 1, 65536, "expected a whole number of GiB, 1-65536") ?? AWS_DEFAULTS.walVolumeGiB;
    let data: VolumeSpec | undefined;
    let wal: VolumeSpec | undefined;
    if (tier && (VOLUME_TYPES as readonly unknown[]).includes(volumeType)) {
        const type = volumeType as VolumeType;
        const base = tierPerformance(type, tier.aws);
        if (iops !== undefined && iops < base.iops) r.bad(at("iops"), iops, `below the ${cluster.size} tier's ${base.iops} IOPS; allowed: at least that, or a smaller size tier`);
        if (throughput !== undefined && base.throughput !== undefined && throughput < base.throughput) {
            r.bad(at("throughputMBps"), throughput, `below the ${cluster.size} tier's ${base.throughput} MiB/s; allowed: at least that, or a smaller size tier`);
        }
        const perf = { iops: iops ?? base.iops, throughput: type === "gp3" ? (throughput ?? base.throughput) : throughput };
        data = { type, ...perf, sizeGiB: dataVolumeGiB };
        wal = { type, ...perf, sizeGiB: walVolumeGiB };
        for (const [volume, sizeKey] of [[data, "dataVolumeGiB"], [wal, "walVolumeGiB"]] as const) {
            for (const p of volumeProblems(volume)) {
                const [key, value] = p.field === "iops" ? ["iops", volume.iops] : p.field === "throughput" ? ["throughputMBps", volume.throughput ?? null] : [sizeKey, volume.sizeGiB];
                if (!r.errors.some((e) => e.startsWith(`${PROJECT}:${at(key)}:`))) r.bad(at(key), value, p.allowed);
            }
        }
    }

    const kmsKeyId = aws.kmsKeyId;
    if (kmsKeyId !== undefined && (typeof kmsKeyId !== "string" || !/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+|[0-9a-f-]{36})$/.test(kmsKeyId))) {
        r.bad(at("kmsKeyId"), kmsKeyId, "expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or key id; leave it unset for the account's default EBS key");
    }

    const clientCidrs = readCidrList(r, at("clientCidrs"), aws.clientCidrs, "the client port 2379");
    const adminCidrs = readCidrList(r, at("adminCidrs"), aws.adminCidrs, "SSH");
    const clientSecurityGroups = (() => {
        const list = aws.clientSecurityGroups ?? [];
        if (!Array.isArray(list)) { r.bad(at("clientSecurityGroups"), list, "expected a list of security group ids"); return []; }
        return list.filter((g, i) => {
            const ok = typeof g === "string" && id("sg").test(g);
            if (!ok) r.bad(at(`clientSecurityGroups[${i}]`), g, "expected a security group id (sg- and 8 or 17 hex digits)");
            return ok;
        }) as string[];
    })();

    const bastion = aws.bastion === undefined ? undefined : readBastion(r, at("bastion"), aws.bastion, {
        field: "securityGroup", valid: (g) => typeof g === "string" && id("sg").test(g), expected: "the bastion's security group id (sg-...)", defaultUser: "ec2-user",
    });
    if (adminCidrs.length === 0 && aws.bastion === undefined && !r.errors.some((e) => e.includes(`${at("adminCidrs")}`))) {
        r.missing("aws.adminCidrs", "members accept SSH only from admin networks (aws.adminCidrs, e.g. [10.0.0.0/24], where this program runs) or through a bastion (aws.bastion); set one of them");
    }

    const keyPair = aws.keyPair;
    if (keyPair !== undefined) {
        if (typeof keyPair !== "string" || !/^[\x20-\x7e]{1,255}$/.test(keyPair)) r.bad(at("keyPair"), keyPair, "expected the name of an existing EC2 key pair");
        else if (!r.secretsSet.has("sshPrivateKey")) r.missing("sshPrivateKey", `the private key of key pair ${JSON.stringify(keyPair)} (aws.keyPair); set it with \`pulumi config set --secret sshPrivateKey < key\`, or leave aws.keyPair unset to have a login key generated`);
    }

    if (r.errors.length > before || !data || !wal || typeof instanceType !== "string") return undefined;
    return {
        kind: "aws", region: region as string, vpcId: vpcId as string, subnets, ami: ami as string, user: user as string,
        instanceType, nitro: INSTANCE_TYPES[instanceType]?.nitro ?? false, data, wal,
        kmsKeyId: kmsKeyId as string | undefined, clientCidrs, clientSecurityGroups, adminCidrs, bastion,
        keyPair: keyPair as string | undefined,
    };
}
