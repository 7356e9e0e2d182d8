import { DiskType } from "./machineTypes";

/**
 * A member's persistent disk: its type, size and, on Hyperdisk, the performance provisioned with it. Persistent Disk
 * (pd-ssd, pd-balanced) performance grows with the disk's size; etcd's hardware guide sizes PD SSD for each tier
 * (50 / 150 / 250 / 500 GB giving 1,500 / 4,500 / 7,500 / 15,000 IOPS), so no disk is smaller than the tier's.
 * Hyperdisk Balanced provisions IOPS and throughput apart from size, from at least 3,000 IOPS and 140 MiB/s
 * (Compute Engine "About Hyperdisk Balanced"), raised to the tier's when it asks for more.
 */
export interface DiskSpec {
    type: DiskType;
    sizeGb: number;
    provisionedIops?: number;
    provisionedThroughput?: number;
}

export const HYPERDISK_BALANCED = { minIops: 3000, minThroughput: 140 } as const;

export function tierDisk(type: DiskType, sizeGb: number, tier: { iops: number; throughputMBps: number }): DiskSpec {
    if (type !== "hyperdisk-balanced") return { type, sizeGb };
    return {
        type, sizeGb,
        provisionedIops: Math.max(HYPERDISK_BALANCED.minIops, tier.iops),
        provisionedThroughput: Math.max(HYPERDISK_BALANCED.minThroughput, Math.ceil(tier.throughputMBps)),
    };
}
