/**
 * A release mirror laid out like etcd's official one (<url>/v<version>/<tarball> and SHA256SUMS), served from the
 * lab namespace, so the program's download install path runs for real without the internet.
 * Run directly, it is the server: node --import tsx test/lab/mirror.ts <dir> <address> <port>.
 */
import { ChildProcess, spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { GATEWAY, LAB_NETNS } from "./netns";

export interface Mirror { url: string; dir: string; stop(): Promise<void> }

/** Lays out `archive` as a release of `version`; `checksum` overrides the published SHA-256 (to test refusals). */
export function layOutMirror(dir: string, archive: string, version: string, checksum?: string): void {
    const release = path.join(dir, `v${version}`);
    fs.mkdirSync(release, { recursive: true });
    const name = path.basename(archive);
    fs.copyFileSync(archive, path.join(release, name));
    const sum = checksum ?? createHash("sha256").update(fs.readFileSync(archive)).digest("hex");
    fs.writeFileSync(path.join(release, "SHA256SUMS"), `${sum}  ${name}\n`);
}

export async function startMirror(dir: string, port = 8080): Promise<Mirror> {
    const child: ChildProcess = spawn("ip", ["netns", "exec", LAB_NETNS, process.execPath, "--import", "tsx", __filename, dir, GATEWAY, String(port)], {
        stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`mirror exited (${code})`)));
        child.stdout!.once("data", () => resolve());
    });
    return {
        url: `http://${GATEWAY}:${port}`,
        dir,
        stop: () => new Promise((resolve) => { child.once("exit", () => resolve()); child.kill(); }),
    };
}

function serve(dir: string, address: string, port: number): void {
    http.createServer((req, res) => {
        const file = path.join(dir, path.normalize(decodeURIComponent(req.url ?? "/")).replace(/^(\.\.[/\\])+/, ""));
        if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { "content-length": fs.statSync(file).size });
        fs.createReadStream(file).pipe(res);
    }).listen(port, address, () => console.log(`serving ${dir} on http://${address}:${port}`));
}

if (require.main === module) serve(path.resolve(process.argv[2]), process.argv[3], Number(process.argv[4]));
