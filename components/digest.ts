import * as crypto from "crypto";
import * as fs from "fs";

/** Hex SHA-256, for change detection and for checking uploaded archives. */
export function sha256(data: string | Buffer): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of a file read in chunks: a snapshot may be larger than one buffer can hold (up to the 8 GiB quota). */
export function sha256OfFile(file: string): string {
    const hash = crypto.createHash("sha256");
    const fd = fs.openSync(file, "r");
    try {
        const chunk = Buffer.alloc(4 * 1024 * 1024);
        for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
    } finally {
        fs.closeSync(fd);
    }
    return hash.digest("hex");
}
