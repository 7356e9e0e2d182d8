/** vCPUs and memory of a machine type, and the check that a type is at least what a size tier asks for. */

export interface MachineShape { vcpus: number; memoryGiB: number }

/** Why `offered` falls short of `needed`, or undefined when it has at least the vCPUs and memory. */
export function shortfall(offered: MachineShape, needed: MachineShape): string | undefined {
    const short: string[] = [];
    if (offered.vcpus < needed.vcpus) short.push(`${offered.vcpus} vCPUs < ${needed.vcpus}`);
    if (offered.memoryGiB < needed.memoryGiB) short.push(`${offered.memoryGiB} GiB memory < ${needed.memoryGiB} GiB`);
    return short.length ? short.join(", ") : undefined;
}

/**
 * Checks a requested machine type against a table of known shapes and the tier's needs. Returns the problem, or
 * undefined when the type may be used.
 */
export function machineTypeProblem(type: string, table: Readonly<Record<string, MachineShape>>, needed: MachineShape, tierName: string): string | undefined {
    const shape = table[type];
    if (!shape) return `not a machine type this program knows the size of; allowed: ${Object.keys(table).join(", ")}`;
    const short = shortfall(shape, needed);
    return short ? `smaller than the ${tierName} tier (${short}); allowed: a type with at least ${needed.vcpus} vCPUs and ${needed.memoryGiB} GiB, or a smaller size tier` : undefined;
}
