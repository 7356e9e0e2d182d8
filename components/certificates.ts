import { ClientSpec } from "./clients";
import { KeyAlgorithm } from "./config";
import { Sans, memberSans } from "./plan";

/** What each certificate must say: pure, so tests check SANs and key usages without any engine. */

export const ORGANIZATION = "etcd-cluster";

export const USES = {
    ca: ["cert_signing", "crl_signing", "digital_signature"],
    // etcd dials other members and itself with its server certificate: it must be a client too.
    server: ["digital_signature", "server_auth", "client_auth"],
    peer: ["digital_signature", "server_auth", "client_auth"],
    client: ["digital_signature", "client_auth"],
} as const;

/** Key uses of a leaf: key_encipherment only for RSA keys (RSA key exchange); an ECDSA key cannot encipher. */
export function leafUses(kind: "server" | "peer" | "client", algorithm: KeyAlgorithm): string[] {
    return [...USES[kind], ...(algorithm.startsWith("RSA") ? ["key_encipherment"] : [])];
}

export interface LeafSpec {
    /** Absent for gateway clients: etcd refuses gateway requests from a certificate with a CN once authentication is on. */
    commonName?: string;
    organizationalUnit: string;
    allowedUses: string[];
    sans: Sans;
}

export function rotationUnit(stack: string, rotation: string): string {
    return `${stack} rotation ${rotation}`;
}

export function memberCertificateSpecs(member: { name: string; address: string; dnsNames?: string[] }, extraSans: string[], stack: string, rotation: string, algorithm: KeyAlgorithm): { server: LeafSpec; peer: LeafSpec } {
    const ou = rotationUnit(stack, rotation);
    // Names (the member's own, a load balancer, an alias) are for clients: a peer is always reached at a member's address.
    return {
        server: { commonName: member.name, organizationalUnit: ou, allowedUses: leafUses("server", algorithm), sans: memberSans(member, [...(member.dnsNames ?? []), ...extraSans]) },
        peer: { commonName: member.name, organizationalUnit: ou, allowedUses: leafUses("peer", algorithm), sans: memberSans(member, []) },
    };
}

/** A client certificate: its CN is the etcd user it acts as (gateway clients log in with a password instead). */
export function clientCertificateSpec(client: Pick<ClientSpec, "name" | "gateway">, stack: string, rotation: string, algorithm: KeyAlgorithm): LeafSpec {
    return {
        commonName: client.gateway ? undefined : client.name,
        organizationalUnit: rotationUnit(stack, rotation),
        allowedUses: leafUses("client", algorithm),
        sans: { dnsNames: [], ipAddresses: [] },
    };
}

export function keyParameters(algorithm: KeyAlgorithm): { algorithm: string; ecdsaCurve?: string; rsaBits?: number } {
    const [kind, size] = algorithm.split("-");
    // The provider's default curve is P224, which Go's TLS (and so etcd) refuses.
    return kind === "ECDSA" ? { algorithm: "ECDSA", ecdsaCurve: size } : { algorithm: "RSA", rsaBits: Number(size) };
}
