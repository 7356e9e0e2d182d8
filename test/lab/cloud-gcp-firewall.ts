// The lab's stand-in for Compute Engine VPC firewall rules (the inputs of gcp.compute.Firewall), turned into the
// lab's packet filter (cloud-firewall.ts) for the namespace of one instance's reserved address.
//
// What it follows (VPC documentation, "VPC firewall rules"): a rule applies to the network's instances carrying one of
// its target tags, or to all of them when it names none; among the rules that match a packet the lowest priority
// number wins, and at equal priority a deny rule wins over an allow rule; rules are stateful. An ingress rule's
// sources are its source ranges and the primary internal addresses of the instances carrying its source tags (either
// matches); without either it admits any source. An egress rule's destinations are its destination ranges (any
// without). The implied rules close the list: deny all ingress, allow all egress. Disabled rules do not apply.
// What it does not follow: source or target service accounts (refused), the traffic Google Cloud always allows (the
// metadata server's DHCP, DNS, metadata and NTP have no counterpart in the lab), logging, and hierarchical or network
// firewall policies.

import { FilterRule, nftRuleset } from "./cloud-firewall";
import { CloudAccount, CloudInterface, GceFirewall } from "./cloud-store";

/** The nftables table for a reserved address: the rules that apply to the instance using it (none, if none does). */
export function addressRuleset(account: CloudAccount, nic: CloudInterface): string {
    const instance = nic.instance ? account.instances[nic.instance] : undefined;
    const tags = instance?.tags ?? [];
    const applies = (f: GceFirewall) => !f.disabled && instance !== undefined && (f.targetTags.length === 0 || f.targetTags.some((t) => tags.includes(t)));
    const tagged = (tag: string) => Object.values(account.instances).filter((i) => i.tags?.includes(tag)).map((i) => account.interfaces[i.interface].address);
    // Lowest number first; deny before allow at the same priority; the id keeps the order stable.
    const ordered = Object.values(account.gceFirewalls).filter(applies)
        .sort((a, b) => a.priority - b.priority || (a.action === b.action ? a.id.localeCompare(b.id) : a.action === "deny" ? -1 : 1));
    const rules = (direction: GceFirewall["direction"]): FilterRule[] => ordered.filter((f) => f.direction === direction).flatMap((f) => {
        const peers = direction === "INGRESS"
            ? (f.sourceRanges.length + f.sourceTags.length === 0 ? undefined : [...f.sourceRanges, ...f.sourceTags.flatMap(tagged)])
            : (f.destinationRanges.length === 0 ? undefined : f.destinationRanges);
        return f.protocols.map(({ protocol, ports }) => ({ action: f.action === "allow" ? "accept" : "drop", protocol, ports, peers }));
    });
    return nftRuleset("gce", { input: rules("INGRESS"), inputPolicy: "drop", output: rules("EGRESS"), outputPolicy: "accept" });
}
