import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { CLIENT_PORT, PEER_PORT } from "../../plan";
import { outboundRules } from "../cloud/outbound";
import { OutboundPort } from "../machine";
import { GcpTarget } from "./config";

/** The members' firewall rules and each member's reserved internal address. */

const SSH_PORT = 22;
/** Allow rules win over the deny-all egress rule, which stays above the network's implied rules (65535). */
export const PRIORITY = { allow: 1000, denyEgress: 65000 } as const;

export interface FirewallRule {
    /** Suffix of the rule's name. */
    name: string;
    description: string;
    direction: "INGRESS" | "EGRESS";
    priority: number;
    allows?: Array<{ protocol: string; ports?: string[] }>;
    denies?: Array<{ protocol: string }>;
    sourceRanges?: string[];
    sourceTags?: string[];
    destinationRanges?: pulumi.Input<string>[];
    /** Every rule applies to the members alone (their network tag). */
    targetTags: string[];
}

/**
 * A Compute Engine resource name from `base`: lower case, letters, digits and hyphens, starting with a letter, short
 * enough for the 63 characters GCE allows once Pulumi's 8-character random suffix is added.
 */
export function gceName(base: string, maxLength = 55): string {
    const name = base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^[^a-z]+/, "");
    return name.slice(0, maxLength).replace(/-+$/, "") || "etcd";
}

/** The network tag that marks this stack's members: firewall rules name it as target and source. */
export function memberTag(prefix: string): string {
    return gceName(`${prefix}-member`, 63);
}

/**
 * The members' rules. Ingress: peers (2380) from members only; clients (2379) from members and the configured client
 * networks and tags; SSH from the admin networks or the bastion's tag. Egress: to members on 2379-2380, to the
 * outbound ports the etcd layer asks for (the release mirror's when etcd is downloaded, a backup bucket's), each port once, nothing else. Rules are stateful, so replies need no rule;
 * traffic to the metadata server (DHCP, DNS, instance metadata, NTP) is always allowed whatever the rules say
 * (VPC documentation, "VPC firewall rules", "Always allowed traffic").
 */
export function firewallRules(
    target: Pick<GcpTarget, "clientCidrs" | "clientTags" | "adminCidrs" | "bastion">,
    tag: string,
    memberAddresses: pulumi.Input<string>[],
    outboundPorts: OutboundPort[],
): FirewallRule[] {
    const tcp = (ports: string) => [{ protocol: "tcp", ports: [ports] }];
    const ingress = (name: string, description: string, port: number, from: Pick<FirewallRule, "sourceRanges" | "sourceTags">): FirewallRule =>
        ({ name, description, direction: "INGRESS", priority: PRIORITY.allow, allows: tcp(String(port)), ...from, targetTags: [tag] });
    const rules: FirewallRule[] = [
        ingress("peers", "etcd peers: members only", PEER_PORT, { sourceTags: [tag] }),
        ingress("clients-members", "etcd clients: members", CLIENT_PORT, { sourceTags: [tag] }),
    ];
    if (target.clientCidrs.length) rules.push(ingress("clients-networks", "etcd clients: client networks", CLIENT_PORT, { sourceRanges: target.clientCidrs }));
    if (target.clientTags.length) rules.push(ingress("clients-tags", "etcd clients: client network tags", CLIENT_PORT, { sourceTags: target.clientTags }));
    if (target.adminCidrs.length) rules.push(ingress("ssh-admin", "SSH: admin networks", SSH_PORT, { sourceRanges: target.adminCidrs }));
    if (target.bastion) rules.push(ingress("ssh-bastion", "SSH: bastion", SSH_PORT, { sourceTags: [target.bastion.source] }));
    const egress = (name: string, description: string, ports: string, destinationRanges: pulumi.Input<string>[]): FirewallRule =>
        ({ name, description, direction: "EGRESS", priority: PRIORITY.allow, allows: tcp(ports), destinationRanges, targetTags: [tag] });
    rules.push(egress("to-members", "etcd: to members", `${CLIENT_PORT}-${PEER_PORT}`, memberAddresses.map((a) => pulumi.interpolate`${a}/32`)));
    for (const p of outboundRules(outboundPorts)) rules.push(egress(`out-${p.port}`, p.purpose, String(p.port), ["0.0.0.0/0"]));
    rules.push({ name: "deny-egress", description: "members: no other egress", direction: "EGRESS", priority: PRIORITY.denyEgress, denies: [{ protocol: "all" }], destinationRanges: ["0.0.0.0/0"], targetTags: [tag] });
    return rules;
}

export function membersFirewall(prefix: string, target: GcpTarget, rules: FirewallRule[], parent?: pulumi.Resource): gcp.compute.Firewall[] {
    return rules.map(({ name, ...rule }) => new gcp.compute.Firewall(`${prefix}-${name}`, {
        project: target.project,
        network: target.network,
        ...rule,
    }, { parent }));
}

/**
 * A member's reserved internal address: it outlives any instance, so certificates and peer URLs stay valid when the
 * instance is replaced.
 */
export function memberAddress(name: string, target: GcpTarget, parent?: pulumi.Resource): gcp.compute.Address {
    return new gcp.compute.Address(`${name}-address`, {
        project: target.project,
        region: target.region,
        subnetwork: target.subnetwork,
        addressType: "INTERNAL",
        description: `etcd member ${name}: fixed address`,
    }, { parent });
}
