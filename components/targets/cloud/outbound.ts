import { OutboundPort } from "../machine";

/**
 * One egress rule per port, naming every purpose: two purposes on one port (a release mirror and a backup bucket,
 * both on 443) must open it once, as a GCP rule is named by its port and AWS refuses a security group's duplicate rule.
 */
export function outboundRules(ports: OutboundPort[]): OutboundPort[] {
    const byPort = new Map<number, string[]>();
    for (const p of ports) byPort.set(p.port, [...(byPort.get(p.port) ?? []), p.purpose]);
    return [...byPort].map(([port, purposes]) => ({ port, purpose: purposes.join(", ") }));
}
