import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeyAlgorithm } from "./config";
import { LeafSpec, ORGANIZATION, USES, keyParameters } from "./certificates";

export interface CertificatePair {
    certPem: pulumi.Output<string>;
    /** Secret. */
    keyPem: pulumi.Output<string>;
    /** When the certificate expires (RFC 3339), for the expiry metric. */
    notAfter: pulumi.Output<string>;
}

export interface CaArgs {
    stack: string;
    keyAlgorithm: KeyAlgorithm;
    validityDays: number;
    /** What the CA signs, in its CN; the cluster CA's is "CA" (as before peers had their own). */
    purpose: string;
    /** Steps that must succeed before any key is made or replaced: the preflight guards. */
    after?: pulumi.Resource[];
}

export function caCommonName(stack: string, purpose: string): string {
    return `etcd-cluster ${stack} ${purpose}`;
}

/**
 * A certificate authority for this etcd cluster alone (CIS: etcd must not trust the Kubernetes CA). A cluster has
 * two: one for servers and clients, one for peers, so no client certificate is ever accepted on a peer port.
 */
export class EtcdCa extends pulumi.ComponentResource {
    readonly certPem: pulumi.Output<string>;
    readonly keyPem: pulumi.Output<string>;
    readonly notAfter: pulumi.Output<string>;
    /** SHA-256 fingerprint of the CA's public key: stable for the CA's life, unique to this cluster. */
    readonly publicKeyFingerprint: pulumi.Output<string>;
    private readonly keyAlgorithm: KeyAlgorithm;
    readonly after?: pulumi.Resource[];

    constructor(name: string, args: CaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-cluster:pki:Ca", name, {}, opts);
        this.keyAlgorithm = args.keyAlgorithm;
        this.after = args.after;
        // Protected: replacing the CA of a running cluster cuts members off from each other (etcd keeps the CA pool
        // it started with), so the engine must refuse it even when a guard is bypassed.
        const key = new tls.PrivateKey(`${name}-key`, keyParameters(args.keyAlgorithm), { parent: this, protect: true, dependsOn: args.after });
        const cert = new tls.SelfSignedCert(`${name}-cert`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: caCommonName(args.stack, args.purpose), organization: ORGANIZATION },
            isCaCertificate: true,
            validityPeriodHours: args.validityDays * 24,
            allowedUses: [...USES.ca],
            setSubjectKeyId: true,
        }, { parent: this, protect: true });
        this.certPem = cert.certPem;
        this.keyPem = pulumi.secret(key.privateKeyPem);
        this.notAfter = cert.validityEndTime;
        this.publicKeyFingerprint = key.publicKeyFingerprintSha256;
        this.registerOutputs({ certPem: this.certPem });
    }

    /**
     * Issues a leaf certificate. `rotation` replaces the key too (with the Pulumi CLI); the rotation value is also
     * in the subject, so the certificate is re-issued and shows which rotation it belongs to.
     */
    issue(name: string, spec: pulumi.Input<LeafSpec>, validityDays: number, rotation: string, parent: pulumi.Resource): CertificatePair {
        const s = pulumi.output(spec);
        const key = new tls.PrivateKey(`${name}-key`, keyParameters(this.keyAlgorithm), { parent, replacementTrigger: rotation, dependsOn: this.after });
        const csr = new tls.CertRequest(`${name}-csr`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: s.commonName, organization: ORGANIZATION, organizationalUnit: s.organizationalUnit },
            dnsNames: s.sans.dnsNames,
            ipAddresses: s.sans.ipAddresses,
        }, { parent });
        const cert = new tls.LocallySignedCert(`${name}-cert`, {
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: this.keyPem,
            caCertPem: this.certPem,
            validityPeriodHours: validityDays * 24,
            allowedUses: s.allowedUses,
        }, { parent });
        return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem), notAfter: cert.validityEndTime };
    }
}
