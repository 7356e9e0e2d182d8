// The lab's cloud account: what a cloud's control plane remembers between API calls (networks, images, firewalls,
// interfaces, disks, instances and which disk is attached where), kept in <lab dir>/cloud.json. The lab runtime's
// state (runtime-state.ts) is the engine's memory; this is the cloud's, so a provider stand-in can refuse what the
// cloud refuses (an interface that is in use, a disk in another zone) instead of trusting the engine. Cloud-neutral:
// the EC2 stand-in (cloud-aws.ts) and the Compute Engine one (cloud-gcp.ts) fill it. Mode 600: it names the lab's files only,
// no secrets, but sits beside state files that hold some.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { labDir } from "./lab-id";

/** `zone`: an EC2 subnet's availability zone, or the region of a Compute Engine subnetwork (which spans its zones). */
export interface CloudSubnet { id: string; zone: string; network: string }

/** An EC2 security group: allow rules only, on ingress and egress; `self` means the members of this group. */
export interface CloudRule { protocol: string; fromPort: number; toPort: number; self?: boolean; cidrBlocks?: string[]; ipv6CidrBlocks?: string[]; securityGroups?: string[] }
export interface CloudFirewall { id: string; network: string; ingress: CloudRule[]; egress: CloudRule[] }

/**
 * A Compute Engine VPC firewall rule: it applies to the network's instances with one of `targetTags` (all of them
 * without), allows or denies, and the lowest priority number that matches wins.
 */
export interface GceFirewall {
    id: string;
    network: string;
    direction: "INGRESS" | "EGRESS";
    priority: number;
    action: "allow" | "deny";
    protocols: Array<{ protocol: string; ports: string[] }>;
    sourceRanges: string[];
    sourceTags: string[];
    destinationRanges: string[];
    targetTags: string[];
    disabled: boolean;
}

export interface CloudInterface {
    /** Which cloud's rules filter it: an EC2 network interface or a Compute Engine reserved internal address. */
    cloud: "ec2" | "gce";
    id: string;
    subnet: string;
    address: string;
    /** The lab host name (and network namespace suffix) this interface's address lives in; at most 12 characters. */
    host: string;
    /** EC2: its security groups. */
    firewalls: string[];
    instance?: string;
}

export interface CloudDisk {
    id: string;
    zone: string;
    sizeGiB: number;
    /** Sparse file under the lab's disks directory (labDown detaches and deletes it). */
    file: string;
    /** `slot`: the attachment's place on the instance (1 for the first attached), which some clouds name devices by. */
    attachment?: { instance: string; deviceName: string; slot: number };
}

export interface CloudInstance {
    id: string;
    interface: string;
    zone: string;
    image: string;
    machineType: string;
    /** Compute Engine: its name and network tags (firewall rules select instances by tag). */
    name?: string;
    tags?: string[];
    state: "running" | "stopped";
    /** nspawn's PID while running. */
    pid?: number;
}

export interface CloudAccount {
    networks: string[];
    subnets: CloudSubnet[];
    images: string[];
    /** Compute Engine zones (EC2's are its subnets'). */
    zones: string[];
    keyPairs: Record<string, string>;
    firewalls: Record<string, CloudFirewall>;
    gceFirewalls: Record<string, GceFirewall>;
    interfaces: Record<string, CloudInterface>;
    disks: Record<string, CloudDisk>;
    instances: Record<string, CloudInstance>;
}

export function cloudFile(dir: string = labDir()): string {
    return join(dir, "cloud.json");
}

export function emptyAccount(): CloudAccount {
    return { networks: [], subnets: [], images: [], zones: [], keyPairs: {}, firewalls: {}, gceFirewalls: {}, interfaces: {}, disks: {}, instances: {} };
}

export function readAccount(file: string = cloudFile()): CloudAccount {
    return existsSync(file) ? { ...emptyAccount(), ...(JSON.parse(readFileSync(file, "utf8")) as CloudAccount) } : emptyAccount();
}

/** `prefix-` and `hexDigits` random hex digits, as cloud resource ids look (vol-0123456789abcdef0). */
export function cloudId(prefix: string, hexDigits = 17): string {
    return `${prefix}-${randomBytes(Math.ceil(hexDigits / 2)).toString("hex").slice(0, hexDigits)}`;
}

/** One account per run of the program; every change is saved before the call that made it returns. */
export class CloudStore {
    private writing: Promise<void> = Promise.resolve();
    readonly account: CloudAccount;

    constructor(readonly file: string = cloudFile()) {
        this.account = readAccount(file);
    }

    save(): Promise<void> {
        this.writing = this.writing.catch(() => undefined).then(async () => {
            await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
            const temporary = `${this.file}.${process.pid}.tmp`;
            await writeFile(temporary, JSON.stringify(this.account, null, 2) + "\n", { mode: 0o600 });
            await rename(temporary, this.file);
        });
        return this.writing;
    }

    subnet(id: string): CloudSubnet {
        const subnet = this.account.subnets.find((s) => s.id === id);
        if (!subnet) throw new Error(`InvalidSubnetID.NotFound: the subnet ID '${id}' does not exist (the lab knows ${this.account.subnets.map((s) => s.id).join(", ") || "none"})`);
        return subnet;
    }

    get<K extends "firewalls" | "gceFirewalls" | "interfaces" | "disks" | "instances">(kind: K, id: string): CloudAccount[K][string] {
        const item = this.account[kind][id];
        if (!item) throw new Error(`${kind.slice(0, -1)} ${id} does not exist in the lab's cloud`);
        return item as CloudAccount[K][string];
    }
}

let shared: CloudStore | undefined;

/** The lab's account as every cloud stand-in in this process shares it (one writer, so no change is lost). */
export function labCloud(): CloudStore {
    shared ??= new CloudStore();
    return shared;
}
