import { MachineShape } from "../cloud/machineShape";

/**
 * x86_64 machine types this program knows the size of (Compute Engine "Machine families resource and comparison
 * guide": vCPUs and memory per predefined type), and the data disk types each series accepts: the N1, N2, N2D and
 * E2 series take Persistent Disk only; C3 takes Persistent Disk and Hyperdisk Balanced. Series that take Hyperdisk
 * only (N4, C4) are left out rather than half supported.
 */
export const DISK_TYPES = ["pd-ssd", "pd-balanced", "hyperdisk-balanced"] as const;
export type DiskType = (typeof DISK_TYPES)[number];

export interface MachineType extends MachineShape { diskTypes: readonly DiskType[] }

const PD: readonly DiskType[] = ["pd-ssd", "pd-balanced"];

function series(prefix: string, memoryPerVcpu: number, vcpus: number[], diskTypes: readonly DiskType[] = PD): Record<string, MachineType> {
    return Object.fromEntries(vcpus.map((n) => [`${prefix}-${n}`, { vcpus: n, memoryGiB: n * memoryPerVcpu, diskTypes }]));
}

export const MACHINE_TYPES: Readonly<Record<string, MachineType>> = {
    ...series("n1-standard", 3.75, [1, 2, 4, 8, 16, 32, 64]),
    ...series("n1-highmem", 6.5, [2, 4, 8, 16, 32, 64]),
    ...series("n2-standard", 4, [2, 4, 8, 16, 32, 48, 64]),
    ...series("n2-highmem", 8, [2, 4, 8, 16, 32, 48, 64]),
    ...series("n2d-standard", 4, [2, 4, 8, 16, 32, 48, 64]),
    ...series("e2-standard", 4, [2, 4, 8, 16, 32]),
    ...series("c3-standard", 4, [4, 8, 22, 44, 88], [...PD, "hyperdisk-balanced"]),
};
