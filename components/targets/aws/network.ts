import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CLIENT_PORT, PEER_PORT } from "../../plan";
import { outboundRules } from "../cloud/outbound";
import { OutboundPort } from "../machine";
import { AwsTarget } from "./config";

/** The members' security group and each member's fixed network interface. */

const SSH_PORT = 22;

export interface Rule {
    description: string;
    protocol: "tcp";
    fromPort: number;
    toPort: number;
    /** Members themselves (the group's own id). */
    self?: boolean;
    cidrBlocks?: string[];
    ipv6CidrBlocks?: string[];
    securityGroups?: string[];
}

/**
 * The one security group all members share. Ingress: peers (2380) from members only; clients (2379) from members and
 * the configured client networks and groups; SSH from the admin networks or the bastion's group. Egress: to members
 * on 2379-2380, and to the outbound ports the etcd layer asks for (the release mirror's when etcd is downloaded, a backup bucket's), each port once.
 * Security groups are stateful, so replies need no rule; DNS, time sync and instance metadata are not filtered by security groups (Amazon VPC User
 * Guide, "Security group rules").
 */
export function securityGroupRules(target: Pick<AwsTarget, "clientCidrs" | "clientSecurityGroups" | "adminCidrs" | "bastion">, outboundPorts: OutboundPort[]): { ingress: Rule[]; egress: Rule[] } {
    const split = (cidrs: string[]) => ({
        ...(cidrs.some((c) => !c.includes(":")) ? { cidrBlocks: cidrs.filter((c) => !c.includes(":")) } : {}),
        ...(cidrs.some((c) => c.includes(":")) ? { ipv6CidrBlocks: cidrs.filter((c) => c.includes(":")) } : {}),
    });
    const tcp = (description: string, port: number, from: Omit<Rule, "description" | "protocol" | "fromPort" | "toPort">): Rule =>
        ({ description, protocol: "tcp", fromPort: port, toPort: port, ...from });
    const ingress: Rule[] = [
        tcp("etcd peers: members only", PEER_PORT, { self: true }),
        tcp("etcd clients: members", CLIENT_PORT, { self: true }),
    ];
    if (target.clientCidrs.length) ingress.push(tcp("etcd clients: client networks", CLIENT_PORT, split(target.clientCidrs)));
    if (target.clientSecurityGroups.length) ingress.push(tcp("etcd clients: client security groups", CLIENT_PORT, { securityGroups: target.clientSecurityGroups }));
    if (target.adminCidrs.length) ingress.push(tcp("SSH: admin networks", SSH_PORT, split(target.adminCidrs)));
    if (target.bastion) ingress.push(tcp("SSH: bastion", SSH_PORT, { securityGroups: [target.bastion.source] }));
    const egress: Rule[] = [{ description: "etcd: to members", protocol: "tcp", fromPort: CLIENT_PORT, toPort: PEER_PORT, self: true }];
    for (const p of outboundRules(outboundPorts)) egress.push(tcp(p.purpose, p.port, { cidrBlocks: ["0.0.0.0/0"] }));
    return { ingress, egress };
}

export function membersSecurityGroup(name: string, target: AwsTarget, outboundPorts: OutboundPort[], parent?: pulumi.Resource): aws.ec2.SecurityGroup {
    const rules = securityGroupRules(target, outboundPorts);
    return new aws.ec2.SecurityGroup(`${name}-members`, {
        region: target.region,
        vpcId: target.vpcId,
        description: `etcd members of ${name}: peers from members only, clients from configured networks`,
        ingress: rules.ingress,
        egress: rules.egress,
        tags: { Name: `${name}-members` },
    }, { parent });
}

/** A member's network interface: its private address outlives any instance, so certificates and peer URLs stay valid. */
export function memberInterface(name: string, target: AwsTarget, subnetId: string, securityGroup: aws.ec2.SecurityGroup, parent?: pulumi.Resource): aws.ec2.NetworkInterface {
    return new aws.ec2.NetworkInterface(`${name}-eni`, {
        region: target.region,
        subnetId,
        securityGroups: [securityGroup.id],
        description: `etcd member ${name}: fixed address`,
        tags: { Name: name },
    }, { parent });
}
