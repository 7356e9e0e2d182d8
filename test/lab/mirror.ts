/**
 * A release mirror laid out like etcd's official one (<url>/v<version>/<tarball> and SHA256SUMS), served over https
 * from the lab namespace with a certificate of its own small CA, so the program's download install path runs for
 * real without the internet. Hosts must trust that CA (`trustMirror`). Under `/to-http/` it redirects every request
 * to plain http, to prove the install refuses such a redirect.
 * Run directly, it is the server: node --import tsx test/lab/mirror.ts <dir> <address> <port>.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { GATEWAY, LAB_NETNS } from "./netns";

export interface Mirror { url: string; dir: string; caPem: string; stop(): Promise<void> }

/**
 * Lays out the file `archive` as the release tarball `name` of `version`, with a SHA256SUMS that matches it (a mirror
 * that was tampered with publishes a matching list too).
 */
export function layOutMirror(dir: string, archive: string, version: string, name = path.basename(archive)): void {
    const release = path.join(dir, `v${version}`);
    fs.mkdirSync(release, { recursive: true });
    fs.copyFileSync(archive, path.join(release, name));
    const sum = createHash("sha256").update(fs.readFileSync(archive)).digest("hex");
    fs.writeFileSync(path.join(release, "SHA256SUMS"), `${sum}  ${name}\n`);
}

/** A CA and a server certificate for the mirror's address, made with openssl in `tls` (outside what it serves). */
function makeCertificates(tls: string): { key: string; cert: string; ca: string } {
    fs.rmSync(tls, { recursive: true, force: true });
    fs.mkdirSync(tls, { recursive: true, mode: 0o700 });
    const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: tls, stdio: "pipe" });
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=etcd lab mirror CA", "-days", "2"]);
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=etcd lab mirror"]);
    fs.writeFileSync(path.join(tls, "ext"), `subjectAltName=IP:${GATEWAY}\nextendedKeyUsage=serverAuth\n`);
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext"]);
    return { key: path.join(tls, "server.key"), cert: path.join(tls, "server.crt"), ca: fs.readFileSync(path.join(tls, "ca.crt"), "utf8") };
}

export async function startMirror(dir: string, port = 8443): Promise<Mirror> {
    const tlsDir = `${dir}-tls`;
    const tls = makeCertificates(tlsDir);
    const child: ChildProcess = spawn("ip", ["netns", "exec", LAB_NETNS, process.execPath, "--import", "tsx", __filename, dir, GATEWAY, String(port), tls.key, tls.cert], {
        stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`mirror exited (${code})`)));
        child.stdout!.once("data", () => resolve());
    });
    return {
        url: `https://${GATEWAY}:${port}`,
        dir,
        caPem: tls.ca,
        stop: () => new Promise((resolve) => {
            child.once("exit", () => { fs.rmSync(tlsDir, { recursive: true, force: true }); resolve(); });
            child.kill();
        }),
    };
}

/** The command that makes a lab host trust the mirror's CA (Debian's system store, which curl reads). */
export function trustMirrorCommand(caPem: string): string {
    return `printf '%s\\n' '${caPem.trim()}' > /usr/local/share/ca-certificates/etcd-lab-mirror.crt && update-ca-certificates >/dev/null`;
}

function serve(dir: string, address: string, port: number, key: string, cert: string): void {
    https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
        const url = decodeURIComponent(req.url ?? "/");
        if (url.startsWith("/to-http/")) {
            res.writeHead(302, { location: `http://${address}:${port + 1}${url.slice("/to-http".length)}` }).end();
            return;
        }
        const file = path.join(dir, path.normalize(url).replace(/^(\.\.[/\\])+/, ""));
        if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { "content-length": fs.statSync(file).size });
        fs.createReadStream(file).pipe(res);
    }).listen(port, address, () => console.log(`serving ${dir} on https://${address}:${port}`));
}

if (require.main === module) serve(path.resolve(process.argv[2]), process.argv[3], Number(process.argv[4]), process.argv[5], process.argv[6]);
