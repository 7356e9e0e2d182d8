import * as pulumi from "@pulumi/pulumi";

/**
 * What a cloud machine's own changes wait for: `after` resolves to the previous member's last step once the cluster
 * calls `holdChangesUntil` (Machine.holdChangesUntil), so an instance that depends on it is created, replaced or
 * restarted only after the member before it has been applied.
 */
export function heldChanges(): { after: Promise<pulumi.Resource[]>; holdChangesUntil: (previous: pulumi.Resource | undefined) => void } {
    let release: (after: pulumi.Resource[]) => void = () => undefined;
    const after = new Promise<pulumi.Resource[]>((resolve) => { release = resolve; });
    return { after, holdChangesUntil: (previous) => release(previous ? [previous] : []) };
}
