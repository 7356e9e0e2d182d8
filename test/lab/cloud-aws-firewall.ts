// The lab's stand-in for an EC2 security group: the group's rules as the program registers them (the inputs of
// aws.ec2.SecurityGroup), turned into an nftables table loaded into a lab host's own network namespace.
//
// What it follows (Amazon VPC User Guide, "Security groups" and "Security group rules"): rules only allow, anything
// not allowed is dropped; groups are stateful, so replies to allowed traffic pass; a rule's source is a CIDR block,
// another security group (the addresses of the interfaces in it) or the group itself (`self`: its members). Egress
// rules are loaded the same way on the output hook. What it does not follow: traffic AWS never filters (DNS, time
// sync, instance metadata) has no counterpart in the lab, and the lab's own management traffic is not exempted: the
// program's SSH rule must admit the address the lab runtime connects from, as a real group must admit the deployer.

import { Inputs } from "./runtime-inputs";

interface Rule { fromPort: number; toPort: number; protocol: string; self?: boolean; cidrBlocks?: string[]; ipv6CidrBlocks?: string[]; securityGroups?: string[] }

/** Addresses of the interfaces in each security group the rules may name, by group id; `self` is this group's. */
export interface GroupAddresses { self: string[]; byId: Record<string, string[]> }

/** An nft script that replaces table `inet ec2` with the group's rules. Throws on a rule the lab cannot emulate. */
export function securityGroupRuleset(inputs: Inputs, groups: GroupAddresses): string {
    const chain = (hook: "input" | "output", rules: Rule[], direction: "saddr" | "daddr") => [
        `  chain ${hook} {`,
        `    type filter hook ${hook} priority 0; policy drop;`,
        "    ct state established,related accept",
        `    ${hook === "input" ? "iif" : "oif"} lo accept`,
        ...rules.flatMap((rule) => ruleLines(rule, groups, direction)),
        "  }",
    ];
    return [
        "table inet ec2",
        "delete table inet ec2",
        "table inet ec2 {",
        ...chain("input", rulesOf(inputs, "ingress"), "saddr"),
        ...chain("output", rulesOf(inputs, "egress"), "daddr"),
        "}",
        "",
    ].join("\n");
}

function rulesOf(inputs: Inputs, key: "ingress" | "egress"): Rule[] {
    const rules = inputs[key] ?? [];
    if (!Array.isArray(rules)) throw new Error(`security group input ${key} must be a list`);
    return rules as Rule[];
}

function ruleLines(rule: Rule, groups: GroupAddresses, direction: "saddr" | "daddr"): string[] {
    if (rule.protocol !== "tcp") throw new Error(`the lab emulates tcp rules only, not ${rule.protocol}`);
    const ports = rule.fromPort === rule.toPort ? `${rule.fromPort}` : `${rule.fromPort}-${rule.toPort}`;
    const v4 = [...(rule.cidrBlocks ?? [])];
    const v6 = [...(rule.ipv6CidrBlocks ?? [])];
    const add = (addresses: string[]) => addresses.forEach((a) => (a.includes(":") ? v6 : v4).push(a));
    if (rule.self) add(groups.self);
    for (const id of rule.securityGroups ?? []) {
        const members = groups.byId[id];
        if (!members) throw new Error(`security group ${id} is unknown to the lab`);
        add(members);
    }
    const line = (family: "ip" | "ip6", set: string[]) => set.length === 0 ? [] : [
        set.includes("0.0.0.0/0") || set.includes("::/0")
            ? `    meta nfproto ${family === "ip" ? "ipv4" : "ipv6"} tcp dport ${ports} accept`
            : `    ${family} ${direction} { ${set.join(", ")} } tcp dport ${ports} accept`,
    ];
    return [...line("ip", v4), ...line("ip6", v6)];
}
