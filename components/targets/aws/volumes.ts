/**
 * EBS volume performance: the size tier's IOPS and throughput, within what the volume type can be provisioned with.
 * Limits from the Amazon EBS User Guide, "Amazon EBS volume types" (gp3: 3,000 IOPS and 125 MiB/s included, at most
 * 16,000 IOPS, 1,000 MiB/s, 500 IOPS per GiB and 0.25 MiB/s per IOPS; io2 Block Express: at most 256,000 IOPS and
 * 1,000 IOPS per GiB, throughput follows IOPS and cannot be set).
 */

export const VOLUME_TYPES = ["gp3", "io2"] as const;
export type VolumeType = (typeof VOLUME_TYPES)[number];

export const GP3 = { minIops: 3000, maxIops: 16000, minThroughput: 125, maxThroughput: 1000, iopsPerGiB: 500, throughputPerIops: 0.25 } as const;
export const IO2 = { minIops: 100, maxIops: 256000, iopsPerGiB: 1000 } as const;

export interface VolumeSpec {
    type: VolumeType;
    iops: number;
    /** MiB/s; gp3 only. */
    throughput?: number;
    sizeGiB: number;
}

/** The tier's performance on a volume type: gp3 cannot be provisioned below its included 3,000 IOPS and 125 MiB/s. */
export function tierPerformance(type: VolumeType, tier: { provisionedIops: number; throughputMBps: number }): { iops: number; throughput?: number } {
    if (type === "io2") return { iops: tier.provisionedIops };
    return { iops: Math.max(GP3.minIops, tier.provisionedIops), throughput: Math.max(GP3.minThroughput, Math.ceil(tier.throughputMBps)) };
}

/** What is wrong with a volume spec, per field; empty when EBS accepts it. */
export function volumeProblems(v: VolumeSpec): Array<{ field: "iops" | "throughput" | "size"; allowed: string }> {
    const problems: Array<{ field: "iops" | "throughput" | "size"; allowed: string }> = [];
    if (v.type === "gp3") {
        if (v.iops < GP3.minIops || v.iops > GP3.maxIops) problems.push({ field: "iops", allowed: `gp3 takes ${GP3.minIops}-${GP3.maxIops} IOPS; use io2 for more` });
        const t = v.throughput ?? GP3.minThroughput;
        if (t < GP3.minThroughput || t > GP3.maxThroughput) problems.push({ field: "throughput", allowed: `gp3 takes ${GP3.minThroughput}-${GP3.maxThroughput} MiB/s` });
        else if (t > v.iops * GP3.throughputPerIops) problems.push({ field: "throughput", allowed: `gp3 allows at most ${GP3.throughputPerIops} MiB/s per provisioned IOPS (${v.iops * GP3.throughputPerIops} MiB/s at ${v.iops} IOPS)` });
        if (v.iops > v.sizeGiB * GP3.iopsPerGiB) problems.push({ field: "size", allowed: `gp3 allows at most ${GP3.iopsPerGiB} IOPS per GiB: ${v.iops} IOPS need at least ${Math.ceil(v.iops / GP3.iopsPerGiB)} GiB` });
    } else {
        if (v.iops < IO2.minIops || v.iops > IO2.maxIops) problems.push({ field: "iops", allowed: `io2 takes ${IO2.minIops}-${IO2.maxIops} IOPS` });
        if (v.throughput !== undefined) problems.push({ field: "throughput", allowed: "io2 throughput follows its IOPS and cannot be set; leave it unset" });
        if (v.iops > v.sizeGiB * IO2.iopsPerGiB) problems.push({ field: "size", allowed: `io2 allows at most ${IO2.iopsPerGiB} IOPS per GiB: ${v.iops} IOPS need at least ${Math.ceil(v.iops / IO2.iopsPerGiB)} GiB` });
    }
    return problems;
}
