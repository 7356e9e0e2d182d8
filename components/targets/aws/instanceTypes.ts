import { MachineShape } from "../cloud/machineShape";

/**
 * x86_64 instance types this program knows the size of (AWS "Instance types" specifications: vCPUs and memory per
 * size). `nitro` says whether EBS volumes appear as NVMe devices (Nitro) or under their attachment's device name
 * (Xen, the m4 family of etcd's hardware guide). Arm (Graviton) types are left out: the image must match them.
 */
export interface InstanceType extends MachineShape { nitro: boolean }

const SIZES: Array<[string, number]> = [["large", 2], ["xlarge", 4], ["2xlarge", 8], ["4xlarge", 16], ["8xlarge", 32]];

function family(name: string, memoryPerVcpu: number, nitro: boolean, sizes = SIZES): Record<string, InstanceType> {
    return Object.fromEntries(sizes.map(([size, vcpus]) => [`${name}.${size}`, { vcpus, memoryGiB: vcpus * memoryPerVcpu, nitro }]));
}

export const INSTANCE_TYPES: Readonly<Record<string, InstanceType>> = {
    ...family("m4", 4, false, SIZES.slice(0, 4)),
    ...family("m5", 4, true), ...family("m5a", 4, true),
    ...family("m6i", 4, true), ...family("m6a", 4, true),
    ...family("m7i", 4, true), ...family("m7a", 4, true),
    ...family("r5", 8, true), ...family("r6i", 8, true), ...family("r7i", 8, true),
    ...family("c6i", 2, true), ...family("c7i", 2, true),
};
