// The lab's stand-in for EC2 security groups: the rules of the groups an interface is in, as the program registered
// them (the inputs of aws.ec2.SecurityGroup), turned into the lab's packet filter (cloud-firewall.ts) for that
// interface's namespace.
//
// What it follows (Amazon VPC User Guide, "Security groups" and "Security group rules"): rules only allow, anything
// not allowed is dropped; groups are stateful, so replies to allowed traffic pass; a rule's source is a CIDR block,
// another security group (the addresses of the interfaces in it) or the group itself (`self`: its members). Egress
// rules are loaded the same way on the output hook. What it does not follow: traffic AWS never filters (DNS, time
// sync, instance metadata) has no counterpart in the lab, and the lab's own management traffic is not exempted: the
// program's SSH rule must admit the address the lab runtime connects from, as a real group must admit the deployer.

import { FilterRule, nftRuleset } from "./cloud-firewall";
import { CloudAccount, CloudInterface, CloudRule } from "./cloud-store";

/** The nftables table for one interface: the rules of all its groups, `self` being each group's own members. */
export function interfaceRuleset(account: CloudAccount, nic: CloudInterface): string {
    const members = (group: string) => Object.values(account.interfaces).filter((i) => i.firewalls.includes(group)).map((i) => i.address);
    const rules = (direction: "ingress" | "egress"): FilterRule[] => nic.firewalls.flatMap((id) => {
        const group = account.firewalls[id];
        if (!group) throw new Error(`interface ${nic.id}: firewall ${id} does not exist in the lab's cloud`);
        // Resolved per group, since an interface may be in several.
        return group[direction].map((rule) => filterRule(rule, id, members, (g) => g in account.firewalls));
    });
    return nftRuleset("ec2", { input: rules("ingress"), inputPolicy: "drop", output: rules("egress"), outputPolicy: "drop" });
}

function filterRule(rule: CloudRule, group: string, members: (group: string) => string[], known: (group: string) => boolean): FilterRule {
    if (rule.protocol !== "tcp") throw new Error(`the lab emulates tcp rules only, not ${rule.protocol}`);
    const peers = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])];
    for (const id of rule.securityGroups ?? []) if (!known(id)) throw new Error(`security group ${id} is unknown to the lab`);
    for (const id of [...(rule.self ? [group] : []), ...(rule.securityGroups ?? [])]) peers.push(...members(id));
    return { action: "accept", protocol: "tcp", ports: [rule.fromPort === rule.toPort ? `${rule.fromPort}` : `${rule.fromPort}-${rule.toPort}`], peers };
}
