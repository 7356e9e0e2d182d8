import * as crypto from "crypto";

/** Hex SHA-256, for change detection and for checking uploaded archives. */
export function sha256(data: string | Buffer): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}
