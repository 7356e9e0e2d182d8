// Real keys and certificates for the lab runtime, shaped like the tls provider's (terraform-provider-tls, which
// @pulumi/tls wraps): same PEM types, same X.509 extensions, same allowed_uses names. Keys come from Node's crypto;
// requests and certificates from the openssl CLI, working on files in a private temporary directory that is removed
// afterwards, so no key material ever appears on a command line. Not made: privateKeyOpenssh (Node cannot write the
// OpenSSH private key format).

import { execFile } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
    Inputs,
    optionalBoolean,
    optionalNumber,
    optionalObject,
    optionalString,
    requiredString,
    stringList,
} from "./runtime-inputs";

export interface Generated {
    id: string;
    outputs: Record<string, unknown>;
}

const execFileAsync = promisify(execFile);

const curves: Record<string, { openssl: string; ssh?: string }> = {
    P224: { openssl: "secp224r1" }, // OpenSSH has no P-224 key type: the provider leaves the OpenSSH fields empty.
    P256: { openssl: "prime256v1", ssh: "nistp256" },
    P384: { openssl: "secp384r1", ssh: "nistp384" },
    P521: { openssl: "secp521r1", ssh: "nistp521" },
};

// The provider's allowed_uses, mapped to OpenSSL's names; Microsoft and Netscape uses by OID, as Go encodes them.
const keyUsages: Record<string, string> = {
    digital_signature: "digitalSignature",
    content_commitment: "nonRepudiation",
    key_encipherment: "keyEncipherment",
    data_encipherment: "dataEncipherment",
    key_agreement: "keyAgreement",
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
    encipher_only: "encipherOnly",
    decipher_only: "decipherOnly",
};
const extendedKeyUsages: Record<string, string> = {
    any_extended: "anyExtendedKeyUsage",
    server_auth: "serverAuth",
    client_auth: "clientAuth",
    code_signing: "codeSigning",
    email_protection: "emailProtection",
    ipsec_end_system: "ipsecEndSystem",
    ipsec_tunnel: "ipsecTunnel",
    ipsec_user: "ipsecUser",
    timestamping: "timeStamping",
    ocsp_signing: "OCSPSigning",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

export function privateKey(inputs: Inputs): Generated {
    const algorithm = requiredString(inputs, "algorithm");
    // The provider's defaults, reported whatever the algorithm, as the provider does.
    const ecdsaCurve = optionalString(inputs, "ecdsaCurve") ?? "P224";
    const rsaBits = optionalNumber(inputs, "rsaBits") ?? 2048;
    let key: KeyObject;
    let privateKeyPem: string;
    switch (algorithm) {
        case "RSA":
            key = generateKeyPairSync("rsa", { modulusLength: rsaBits }).privateKey;
            privateKeyPem = key.export({ type: "pkcs1", format: "pem" }) as string;
            break;
        case "ECDSA": {
            const curve = curves[ecdsaCurve];
            if (!curve) throw new Error(`invalid ECDSA curve ${ecdsaCurve}; supported values are: ${Object.keys(curves)}`);
            key = generateKeyPairSync("ec", { namedCurve: curve.openssl }).privateKey;
            privateKeyPem = key.export({ type: "sec1", format: "pem" }) as string;
            break;
        }
        case "ED25519":
            key = generateKeyPairSync("ed25519").privateKey;
            privateKeyPem = key.export({ type: "pkcs8", format: "pem" }) as string;
            break;
        default:
            throw new Error(`invalid algorithm ${algorithm}; supported values are: RSA, ECDSA, ED25519`);
    }
    const publicKey = createPublicKey(key);
    const spki = publicKey.export({ type: "spki", format: "der" });
    const ssh = openSshPublicKey(publicKey, ecdsaCurve);
    return {
        id: createHash("sha1").update(spki).digest("hex"),
        outputs: {
            algorithm,
            ecdsaCurve,
            rsaBits,
            privateKeyPem,
            privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }),
            publicKeyPem: publicKey.export({ type: "spki", format: "pem" }),
            publicKeyOpenssh: ssh ? `${ssh.type} ${ssh.blob.toString("base64")}\n` : "",
            ...(algorithm === "ED25519" && ssh ? { privateKeyOpenssh: openSshEd25519PrivateKey(key, ssh.blob) } : {}),
            publicKeyFingerprintSha256: ssh
                ? `SHA256:${createHash("sha256").update(ssh.blob).digest("base64").replace(/=+$/, "")}`
                : "",
            publicKeyFingerprintMd5: ssh ? createHash("md5").update(ssh.blob).digest("hex").replace(/(..)(?!$)/g, "$1:") : "",
        },
    };
}

export async function selfSignedCert(inputs: Inputs): Promise<Generated> {
    const keyPem = requiredString(inputs, "privateKeyPem");
    const subject = optionalObject(inputs, "subject") ?? {};
    const uses = allowedUses(stringList(inputs, "allowedUses"));
    const isCa = optionalBoolean(inputs, "isCaCertificate");
    checkCaSubject(isCa, Object.keys(subject).length === 0);
    const subjectKeyId = isCa || optionalBoolean(inputs, "setSubjectKeyId");
    if (optionalBoolean(inputs, "setAuthorityKeyId") && !subjectKeyId) {
        // A self-signed certificate's authority key id is its own subject key id.
        throw new Error("Invalid Certificate Authority: Could not determine Authority Key Identifier");
    }
    return withTempDir(async (dir) => {
        await writeTemp(dir, "key.pem", keyPem);
        await makeRequest(dir, "key.pem", subject, inputs);
        return sign(dir, inputs, uses, {
            issuer: ["-selfsign", "-keyfile", "key.pem"],
            issuerKey: keyPem,
            subjectKeyId,
            authorityKeyId: optionalBoolean(inputs, "setAuthorityKeyId") ? "keyid:always" : "none",
        });
    });
}

export async function certRequest(inputs: Inputs): Promise<Generated> {
    const keyPem = requiredString(inputs, "privateKeyPem");
    return withTempDir(async (dir) => {
        await writeTemp(dir, "key.pem", keyPem);
        await makeRequest(dir, "key.pem", optionalObject(inputs, "subject") ?? {}, inputs);
        const certRequestPem = await readFile(join(dir, "req.pem"), "utf8");
        return {
            id: createHash("sha1").update(certRequestPem).digest("hex"),
            outputs: { certRequestPem, keyAlgorithm: algorithmOf(keyPem) },
        };
    });
}

export async function locallySignedCert(inputs: Inputs): Promise<Generated> {
    const caKeyPem = requiredString(inputs, "caPrivateKeyPem");
    const uses = allowedUses(stringList(inputs, "allowedUses"));
    const isCa = optionalBoolean(inputs, "isCaCertificate");
    return withTempDir(async (dir) => {
        await writeTemp(dir, "req.pem", requiredString(inputs, "certRequestPem"));
        await writeTemp(dir, "ca.pem", requiredString(inputs, "caCertPem"));
        await writeTemp(dir, "ca-key.pem", caKeyPem);
        // The certificate takes subject and SANs from the request, as the provider does.
        const subject = await openssl(dir, ["req", "-in", "req.pem", "-noout", "-subject"]);
        checkCaSubject(isCa, subject.trim() === "subject=");
        const generated = await sign(dir, inputs, uses, {
            issuer: ["-cert", "ca.pem", "-keyfile", "ca-key.pem"],
            issuerKey: caKeyPem,
            subjectKeyId: isCa || optionalBoolean(inputs, "setSubjectKeyId"),
            // Go takes the authority key id from the CA's subject key id whenever the CA has one.
            authorityKeyId: "keyid",
        });
        generated.outputs.caKeyAlgorithm = algorithmOf(caKeyPem);
        return generated;
    });
}

interface Issuer {
    issuer: string[];
    issuerKey: string;
    subjectKeyId: boolean;
    authorityKeyId: string;
}

// Signs dir/req.pem with `openssl ca`, the one openssl command that takes validity in hours rather than days.
async function sign(dir: string, inputs: Inputs, uses: Uses, issuer: Issuer): Promise<Generated> {
    const isCa = optionalBoolean(inputs, "isCaCertificate");
    const { keyUsage, extendedKeyUsage } = uses;
    const hours = optionalNumber(inputs, "validityPeriodHours");
    if (hours === undefined) throw new Error("input validityPeriodHours is required");
    const start = Math.floor(Date.now() / 1000) * 1000;
    const end = start + hours * 3600 * 1000;
    const serial = randomBytes(16).toString("hex"); // 128 random bits, like the provider
    const extensions = [
        "[v3]",
        `basicConstraints = critical, CA:${isCa ? "TRUE" : "FALSE"}`,
        ...(keyUsage.length ? [`keyUsage = critical, ${keyUsage.join(", ")}`] : []),
        ...(extendedKeyUsage.length ? [`extendedKeyUsage = ${extendedKeyUsage.join(", ")}`] : []),
        `subjectKeyIdentifier = ${issuer.subjectKeyId ? "hash" : "none"}`,
        `authorityKeyIdentifier = ${issuer.authorityKeyId}`,
    ];
    const ca = [
        "[ca]",
        "default_ca = lab",
        "[lab]",
        "database = index.txt",
        "serial = serial",
        "new_certs_dir = .",
        `default_md = ${digestFor(issuer.issuerKey)}`,
        "policy = any",
        "unique_subject = no",
        // SANs travel in the request; a request made elsewhere may carry more extensions, which are copied when the
        // certificate does not set them itself (the provider copies only the SANs).
        "copy_extensions = copy",
        "[any]",
    ];
    await writeFile(join(dir, "index.txt"), "", { mode: 0o600 });
    await writeFile(join(dir, "serial"), `${serial}\n`, { mode: 0o600 });
    await writeFile(join(dir, "ca.cnf"), ca.join("\n") + "\n", { mode: 0o600 });
    await writeFile(join(dir, "ext.cnf"), extensions.join("\n") + "\n", { mode: 0o600 });
    await openssl(dir, [
        "ca", "-batch", "-config", "ca.cnf", ...issuer.issuer, "-in", "req.pem", "-preserveDN", "-utf8",
        "-startdate", asn1Time(start), "-enddate", asn1Time(end),
        "-extfile", "ext.cnf", "-extensions", "v3", "-notext", "-out", "cert.pem",
    ]);
    return {
        id: BigInt(`0x${serial}`).toString(),
        outputs: {
            certPem: await readFile(join(dir, "cert.pem"), "utf8"),
            validityStartTime: rfc3339(start),
            validityEndTime: rfc3339(end),
            readyForRenewal: false,
        },
    };
}

// Writes dir/req.pem: a request for the key in dir/keyFile with the subject and SANs from the inputs.
async function makeRequest(dir: string, keyFile: string, subject: Inputs, inputs: Inputs): Promise<void> {
    // Go's order of subject attributes.
    const fields: [string, string][] = [
        ["country", "C"],
        ["province", "ST"],
        ["locality", "L"],
        ["streetAddresses", "street"],
        ["postalCode", "postalCode"],
        ["organization", "O"],
        ["organizationalUnit", "OU"],
        ["commonName", "CN"],
        ["serialNumber", "serialNumber"],
    ];
    const dn: string[] = [];
    for (const [key, name] of fields) {
        const values = key === "streetAddresses" ? stringList(subject, key) : [optionalString(subject, key)];
        for (const value of values) if (value !== undefined) dn.push(`${dn.length}.${name} = ${confValue(value)}`);
    }
    const sans: string[] = [];
    for (const [key, kind] of [["dnsNames", "DNS"], ["ipAddresses", "IP"], ["uris", "URI"]]) {
        for (const value of stringList(inputs, key)) sans.push(`${kind}.${sans.length} = ${confValue(value)}`);
    }
    const config = [
        "[req]",
        "prompt = no",
        "utf8 = yes",
        "distinguished_name = dn",
        ...(sans.length ? ["req_extensions = ext", "[ext]", "subjectAltName = @alt", "[alt]", ...sans] : []),
        "[dn]",
        ...dn,
    ];
    await writeFile(join(dir, "req.cnf"), config.join("\n") + "\n", { mode: 0o600 });
    const digest = digestFor(await readFile(join(dir, keyFile), "utf8"));
    await openssl(dir, [
        "req", "-new", "-config", "req.cnf", "-key", keyFile, `-${digest}`, "-out", "req.pem",
        // An empty [dn] section is an error to openssl; "/" is its spelling of the empty subject.
        ...(dn.length ? [] : ["-subj", "/"]),
    ]);
}

interface Uses {
    keyUsage: string[];
    extendedKeyUsage: string[];
}

function allowedUses(uses: string[]): Uses {
    const keyUsage: string[] = [];
    const extendedKeyUsage: string[] = [];
    uses.forEach((use, index) => {
        if (keyUsages[use]) keyUsage.push(keyUsages[use]);
        else if (extendedKeyUsages[use]) extendedKeyUsage.push(extendedKeyUsages[use]);
        else {
            const supported = [...Object.keys(keyUsages), ...Object.keys(extendedKeyUsages)].sort().join(", ");
            throw new Error(`allowedUses[${index}] value must be one of: ${supported}; got "${use}"`);
        }
    });
    return { keyUsage, extendedKeyUsage };
}

function checkCaSubject(isCa: boolean, emptySubject: boolean): void {
    if (isCa && emptySubject) {
        throw new Error(
            "Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)",
        );
    }
}

// Go signs with the hash that matches the key's strength; Ed25519 ignores the digest.
function digestFor(keyPem: string): string {
    const details = createPrivateKey(keyPem).asymmetricKeyDetails;
    if (details?.namedCurve === "secp384r1") return "sha384";
    if (details?.namedCurve === "secp521r1") return "sha512";
    return "sha256";
}

function algorithmOf(keyPem: string): string {
    const type = createPrivateKey(keyPem).asymmetricKeyType;
    if (type === "rsa") return "RSA";
    if (type === "ec") return "ECDSA";
    if (type === "ed25519") return "ED25519";
    throw new Error(`unsupported private key type ${type}`);
}

// The authorized_keys form of a public key: RFC 4253 (RSA), RFC 5656 (ECDSA), RFC 8709 (Ed25519).
function openSshPublicKey(publicKey: KeyObject, ecdsaCurve: string): { type: string; blob: Buffer } | undefined {
    // Exported lazily: Node has no JWK form for P-224.
    const jwk = () => publicKey.export({ format: "jwk" });
    const b = (value: string | undefined) => Buffer.from(value ?? "", "base64url");
    switch (publicKey.asymmetricKeyType) {
        case "rsa":
            return { type: "ssh-rsa", blob: sshBlob([Buffer.from("ssh-rsa"), mpint(b(jwk().e)), mpint(b(jwk().n))]) };
        case "ed25519":
            return { type: "ssh-ed25519", blob: sshBlob([Buffer.from("ssh-ed25519"), b(jwk().x)]) };
        case "ec": {
            const curve = curves[ecdsaCurve]?.ssh;
            if (!curve) return undefined;
            const { x, y } = jwk();
            const point = Buffer.concat([Buffer.from([4]), b(x), b(y)]);
            return {
                type: `ecdsa-sha2-${curve}`,
                blob: sshBlob([Buffer.from(`ecdsa-sha2-${curve}`), Buffer.from(curve), point]),
            };
        }
        default:
            return undefined;
    }
}

// OpenSSH's own private key format (PROTOCOL.key in the OpenSSH sources), unencrypted, as the provider writes
// private_key_openssh. The lab makes it for ED25519 keys only, the ones the program asks it of.
function openSshEd25519PrivateKey(key: KeyObject, publicBlob: Buffer): string {
    const jwk = key.export({ format: "jwk" });
    const seed = Buffer.from(jwk.d ?? "", "base64url");
    const publicKey = Buffer.from(jwk.x ?? "", "base64url");
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    const str = (b: Buffer | string) => { const v = Buffer.from(b); return Buffer.concat([u32(v.length), v]); };
    const check = randomBytes(4);
    const section = Buffer.concat([check, check, str("ssh-ed25519"), str(publicKey), str(Buffer.concat([seed, publicKey])), str("")]);
    const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
    const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), str("none"), str("none"), str(""), u32(1), str(publicBlob), str(Buffer.concat([section, padding]))]);
    const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
    return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

function sshBlob(fields: Buffer[]): Buffer {
    return Buffer.concat(
        fields.flatMap((field) => {
            const length = Buffer.alloc(4);
            length.writeUInt32BE(field.length);
            return [length, field];
        }),
    );
}

function mpint(magnitude: Buffer): Buffer {
    return magnitude[0] & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude;
}

// A value for an openssl config file: its parser treats # $ quotes and backslashes specially.
function confValue(value: string): string {
    if (/[\r\n]/.test(value)) throw new Error(`line breaks are not allowed in certificate fields: ${JSON.stringify(value)}`);
    return value.replace(/[\\#$"']/g, "\\$&");
}

function asn1Time(ms: number): string {
    return rfc3339(ms).replace(/[-:T]/g, "");
}

function rfc3339(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function writeTemp(dir: string, name: string, content: string): Promise<void> {
    await writeFile(join(dir, name), content, { mode: 0o600 });
}

async function openssl(dir: string, args: string[]): Promise<string> {
    try {
        const { stdout } = await execFileAsync("openssl", args, { cwd: dir });
        return stdout;
    } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? "";
        throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}`);
    }
}

async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), "lab-tls-")); // mkdtemp makes it mode 700
    try {
        return await work(dir);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}
