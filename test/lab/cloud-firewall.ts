// The packet filtering the lab loads for a cloud's firewall, the same for every cloud it plays: an nftables table in a
// lab host's own network namespace with an input and an output chain. Rules are checked in order and the first that
// matches decides; what none matches gets the chain's policy. Stateful, as both clouds' firewalls are: replies to
// allowed traffic pass. Loopback is never filtered. Each cloud adapter turns its own rules into this form
// (cloud-aws-firewall.ts for security groups, cloud-gcp-firewall.ts for VPC firewall rules).

export interface FilterRule {
    action: "accept" | "drop";
    /** tcp, udp, icmp, or all. */
    protocol: string;
    /** Ports or ranges ("2379", "2379-2380"); none: every port. */
    ports?: string[];
    /** The other end's addresses or CIDR blocks; undefined: any address. An empty list matches nothing. */
    peers?: string[];
}

export interface PacketFilter {
    input: FilterRule[];
    inputPolicy: "accept" | "drop";
    output: FilterRule[];
    outputPolicy: "accept" | "drop";
}

/** An nft script that replaces table `inet <table>` with the filter. */
export function nftRuleset(table: string, filter: PacketFilter): string {
    const chain = (hook: "input" | "output", rules: FilterRule[], policy: string) => [
        `  chain ${hook} {`,
        `    type filter hook ${hook} priority 0; policy ${policy};`,
        "    ct state established,related accept",
        `    ${hook === "input" ? "iif" : "oif"} lo accept`,
        ...rules.flatMap((rule) => ruleLines(rule, hook === "input" ? "saddr" : "daddr")),
        "  }",
    ];
    return [
        `table inet ${table}`,
        `delete table inet ${table}`,
        `table inet ${table} {`,
        ...chain("input", filter.input, filter.inputPolicy),
        ...chain("output", filter.output, filter.outputPolicy),
        "}",
        "",
    ].join("\n");
}

function protocolMatch(rule: FilterRule): string {
    if (rule.protocol === "all") {
        if (rule.ports?.length) throw new Error("ports need a protocol (tcp or udp), not all");
        return "";
    }
    if (!["tcp", "udp", "icmp"].includes(rule.protocol)) throw new Error(`the lab filters tcp, udp, icmp or all, not protocol ${rule.protocol}`);
    if (!rule.ports?.length) return `meta l4proto ${rule.protocol} `;
    if (rule.protocol === "icmp") throw new Error("icmp has no ports");
    return `${rule.protocol} dport ${rule.ports.length === 1 ? rule.ports[0] : `{ ${rule.ports.join(", ")} }`} `;
}

function ruleLines(rule: FilterRule, direction: "saddr" | "daddr"): string[] {
    const match = protocolMatch(rule);
    if (rule.peers === undefined) return [`    ${match}${rule.action}`];
    const v4 = rule.peers.filter((a) => !a.includes(":"));
    const v6 = rule.peers.filter((a) => a.includes(":"));
    const line = (family: "ip" | "ip6", set: string[]) => set.length === 0 ? [] : [
        set.includes("0.0.0.0/0") || set.includes("::/0")
            ? `    meta nfproto ${family === "ip" ? "ipv4" : "ipv6"} ${match}${rule.action}`
            : `    ${family} ${direction} { ${set.join(", ")} } ${match}${rule.action}`,
    ];
    return [...line("ip", v4), ...line("ip6", v6)];
}
