import { KeyAlgorithm } from "./config";
import { Sans, memberSans } from "./plan";

/** What each certificate must say: pure, so tests check SANs and key usages without any engine. */

export const ORGANIZATION = "etcd-cluster";
export const ADMIN_COMMON_NAME = "root";

export const USES = {
    ca: ["cert_signing", "crl_signing", "digital_signature"],
    // etcd dials other members and itself with its server certificate: it must be a client too.
    server: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
    peer: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
    client: ["digital_signature", "key_encipherment", "client_auth"],
} as const;

export interface LeafSpec {
    commonName: string;
    organizationalUnit: string;
    allowedUses: string[];
    sans: Sans;
}

export function rotationUnit(stack: string, rotation: string): string {
    return `${stack} rotation ${rotation}`;
}

export function memberCertificateSpecs(member: { name: string; address: string }, extraSans: string[], stack: string, rotation: string): { server: LeafSpec; peer: LeafSpec } {
    const ou = rotationUnit(stack, rotation);
    // Extra names (a load balancer, an alias) are for clients: a peer is always reached at a member's own address.
    return {
        server: { commonName: member.name, organizationalUnit: ou, allowedUses: [...USES.server], sans: memberSans(member, extraSans) },
        peer: { commonName: member.name, organizationalUnit: ou, allowedUses: [...USES.peer], sans: memberSans(member, []) },
    };
}

export function clientCertificateSpec(commonName: string, stack: string, rotation: string): LeafSpec {
    return { commonName, organizationalUnit: rotationUnit(stack, rotation), allowedUses: [...USES.client], sans: { dnsNames: [], ipAddresses: [] } };
}

export function keyParameters(algorithm: KeyAlgorithm): { algorithm: string; ecdsaCurve?: string; rsaBits?: number } {
    const [kind, size] = algorithm.split("-");
    // The provider's default curve is P224, which Go's TLS (and so etcd) refuses.
    return kind === "ECDSA" ? { algorithm: "ECDSA", ecdsaCurve: size } : { algorithm: "RSA", rsaBits: Number(size) };
}
