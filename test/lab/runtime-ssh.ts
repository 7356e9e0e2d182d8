// Remote commands and file copies for the lab runtime, over the OpenSSH client, mirroring what @pulumi/command's
// remote provider does with Go's SSH library:
// - the command text goes to the SSH session's exec as one string, so the remote login shell runs it;
// - stdin is fed as given; empty stdin means end of input at once;
// - only failures to connect are retried: dialErrorLimit N allows N + 1 dials (the provider stops once the failed
//   dials exceed the limit; -1 is unlimited), waiting 150 ms, then 1.5 times longer each time, at most 5 s;
// - the host key is checked when connection.hostKey is set (one public key line, `ssh-ed25519 AAAA...`, as the
//   provider parses it) and ignored otherwise, as by the provider; a mismatch is a failed dial.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Inputs, optionalNumber, optionalString, requiredString } from "./runtime-inputs";

export interface SshConnection {
    host: string;
    port: number;
    user: string;
    privateKey?: string;
    hostKey?: string;
    dialErrorLimit: number;
    perDialTimeout: number;
}

export interface SshResult {
    exitCode: number;
    stdout: string;
    stderr: string;
    // stdout and stderr interleaved as they arrived, as the provider reports them on failure
    combined: string;
}

// Reads the provider's connection input, refusing what the OpenSSH client here cannot do the provider's way.
export function sshConnection(connection: Inputs): SshConnection {
    for (const unsupported of ["proxy", "agentSocketPath", "privateKeyPassword"]) {
        if (connection[unsupported] !== undefined) throw new Error(`lab runtime does not implement connection.${unsupported}`);
    }
    const privateKey = optionalString(connection, "privateKey");
    if (privateKey === undefined && connection.password !== undefined) {
        throw new Error("lab runtime does not implement password logins: set connection.privateKey");
    }
    return {
        host: requiredString(connection, "host"),
        port: optionalNumber(connection, "port") ?? 22,
        user: optionalString(connection, "user") ?? "root",
        privateKey,
        hostKey: optionalString(connection, "hostKey"),
        dialErrorLimit: optionalNumber(connection, "dialErrorLimit") ?? 10,
        perDialTimeout: optionalNumber(connection, "perDialTimeout") ?? 15,
    };
}

// Caps concurrent SSH sessions: a big cluster registers many independent commands at once.
class Limiter {
    private active = 0;
    private readonly waiting: (() => void)[] = [];

    constructor(private readonly max: number) {}

    async run<T>(work: () => Promise<T>): Promise<T> {
        if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
        else this.active++;
        try {
            return await work();
        } finally {
            const next = this.waiting.shift();
            if (next) next();
            else this.active--;
        }
    }
}

const sessions = new Limiter(16);

export async function runRemote(connection: SshConnection, command: string, stdin: string | Buffer): Promise<SshResult> {
    const dir = await mkdtemp(join(tmpdir(), "lab-ssh-")); // mode 700
    try {
        const identity = join(dir, "id");
        if (connection.privateKey !== undefined) {
            // OpenSSH refuses a key file without a final newline ("invalid format").
            const key = connection.privateKey.endsWith("\n") ? connection.privateKey : `${connection.privateKey}\n`;
            await writeFile(identity, key, { mode: 0o600 });
        }
        const knownHosts = join(dir, "known_hosts");
        if (connection.hostKey !== undefined) {
            const [type, key] = connection.hostKey.trim().split(/\s+/);
            const host = connection.port === 22 ? connection.host : `[${connection.host}]:${connection.port}`;
            await writeFile(knownHosts, `${host} ${type} ${key}\n`);
        }
        const hostKeyOptions = connection.hostKey !== undefined
            ? ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", `HostKeyAlgorithms=${connection.hostKey.trim().split(/\s+/)[0]}`]
            : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
        const args = [
            "-F", "/dev/null", // no user or system client configuration: every run connects the same way
            ...(connection.privateKey !== undefined ? ["-i", identity, "-o", "IdentitiesOnly=yes"] : []),
            "-p", String(connection.port),
            "-l", connection.user,
            ...hostKeyOptions,
            "-o", "LogLevel=ERROR", // else every connection adds "Permanently added ... to known hosts" to stderr
            "-o", "BatchMode=yes",
            // A host that dies mid-command would otherwise hang the run forever.
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
            ...(connection.perDialTimeout > 0 ? ["-o", `ConnectTimeout=${connection.perDialTimeout}`] : []),
            "-T",
            "--", connection.host, command,
        ];
        const limit = connection.dialErrorLimit;
        let delay = 100;
        for (let dials = 1; ; dials++) {
            const result = await sessions.run(() => ssh(args, stdin));
            if (!isDialFailure(result)) return result;
            if (limit >= 0 && dials > limit) {
                throw new Error(`after ${dials} failed attempts: ${result.stderr.trim() || "ssh could not connect"}`);
            }
            delay = Math.min(delay * 1.5, 5000);
            await sleep(delay);
        }
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

// Copies one local file as CopyToRemote does over SFTP: onto remotePath, or into it when it is a directory;
// missing parent directories are an error, an existing file keeps its mode, a new one gets the remote umask.
export async function copyToRemote(connection: SshConnection, localPath: string, remotePath: string): Promise<void> {
    if (!(await stat(localPath)).isFile()) throw new Error(`lab runtime copies files only, not ${localPath}`);
    const script =
        `p=${shellQuote(remotePath)}; if [ -d "$p" ]; then p="$p"/${shellQuote(basename(localPath))}; fi; ` +
        `cat > "$p"`;
    const result = await runRemote(connection, script, await readFile(localPath));
    if (result.exitCode !== 0) {
        throw new Error(`failed to copy file ${localPath} to remote path ${remotePath}: ${result.stderr}`);
    }
}

function ssh(args: string[], stdin: string | Buffer): Promise<SshResult> {
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        const combined: Buffer[] = [];
        child.stdout.on("data", (chunk: Buffer) => (stdout.push(chunk), combined.push(chunk)));
        child.stderr.on("data", (chunk: Buffer) => (stderr.push(chunk), combined.push(chunk)));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            resolve({
                exitCode: code ?? (signal ? 128 : 255),
                stdout: Buffer.concat(stdout).toString("utf8"),
                stderr: Buffer.concat(stderr).toString("utf8"),
                combined: Buffer.concat(combined).toString("utf8"),
            });
        });
        child.stdin.on("error", () => undefined); // the remote command may exit without reading its input
        child.stdin.end(stdin); // empty stdin: the remote side reads end of input at once, as from /dev/null
    });
}

// ssh exits 255 both when it cannot connect and when the remote command exits 255; its own messages tell them apart.
// A connection lost after the command started ("Connection to host closed by remote host") is not a dial failure,
// as for the provider.
function isDialFailure(result: SshResult): boolean {
    if (result.exitCode !== 255 || result.stdout !== "") return false;
    const last = result.stderr.trim().split("\n").pop() ?? "";
    return /^ssh: |^kex_exchange_identification|^Connection (closed|reset|timed out) |Permission denied \(|^banner exchange|^Host key verification failed|^No .* host key is known/.test(
        last,
    );
}

function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
