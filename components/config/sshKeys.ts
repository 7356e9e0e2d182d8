/** SSH host keys as users paste them: one public key line, checked and written without its comment. */

const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] as const;

/** `type base64` when `value` is a well-formed public key line (`ssh-ed25519 AAAA... [comment]`), else undefined. */
export function canonicalHostKey(value: unknown): string | undefined {
    if (typeof value !== "string") return undefined;
    const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(\s+\S.*)?\s*$/.exec(value);
    if (!m || !(HOST_KEY_TYPES as readonly string[]).includes(m[1])) return undefined;
    // The key blob is a run of length-prefixed fields starting with its own type name: a key of another type, or a
    // truncated one, fails here.
    const fields = lengthPrefixedFields(Buffer.from(m[2], "base64"));
    const expected = m[1].startsWith("rsa-sha2-") ? "ssh-rsa" : m[1];
    return fields && fields.length >= 2 && fields[0].toString("latin1") === expected ? `${expected} ${m[2]}` : undefined;
}

/** The fields of an SSH wire-format blob, or undefined unless they fill it exactly. */
function lengthPrefixedFields(blob: Buffer): Buffer[] | undefined {
    const fields: Buffer[] = [];
    for (let at = 0; at < blob.length;) {
        if (at + 4 > blob.length) return undefined;
        const length = blob.readUInt32BE(at);
        if (at + 4 + length > blob.length) return undefined;
        fields.push(blob.subarray(at + 4, at + 4 + length));
        at += 4 + length;
    }
    return fields;
}
