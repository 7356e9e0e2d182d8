import { execFileSync, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LabHosts } from "./hosts";

/** Deploys the real index.ts onto lab hosts through the lab runtime, and describes the result in cluster.json. */

export const REPO = path.resolve(__dirname, "..", "..");

/** A named client's credentials, as files (see `clients` in cluster.json). */
export interface ClientInfo { cert: string; key: string; user: string; passwordFile?: string; prefix: string }

/** The lab's named clients unless a deployment sets its own: one JSON-gateway client, as Patroni would be. */
export const LAB_CLIENTS = [{ name: "patroni", prefix: "/service/", gateway: true }];

export interface ClusterInfo {
    netns: string;
    endpoints: string[];
    members: Array<{ name: string; address: string }>;
    ca: string;
    cert: string;
    key: string;
    sshKey: string;
    sshUser: string;
    /** etcdctl of the deployed version, runnable on this machine inside `netns`. */
    etcdctl: string;
    /** Every named client (`clientCertificates`), by name. */
    clients: Record<string, ClientInfo>;
}

export interface DeployResult {
    info: ClusterInfo;
    outputs: Record<string, unknown>;
    seconds: number;
    /** What the run did to resources: the runtime's "+", "~", "+-" and "-" lines (unchanged ones are left out). */
    changes: string[];
}

/**
 * The lab's hosts are containers on a shared development machine: their clock is this machine's kernel clock and
 * no time server is reachable, and their disks are files on this machine's disk, shared with everything else.
 */
export const LAB_PREFLIGHT = {
    walFsyncP99Ms: 1000,
    waive: { timeSync: "lab hosts are containers: the host kernel keeps their clock and no time server is reachable" },
};

/** The stack config a user would set for these hosts, plus `extra` keys (values as `pulumi config` holds them). */
export function labConfig(lab: LabHosts, extra: Record<string, unknown> = {}): Record<string, string> {
    const config: Record<string, unknown> = {
        target: "hosts",
        nodeCount: lab.hosts.length,
        hosts: lab.hosts.map((h) => ({ ...h, user: lab.sshUser })),
        preflight: LAB_PREFLIGHT,
        sshPrivateKey: fs.readFileSync(lab.sshKey, "utf8"),
        etcdVersion: lab.etcdVersion,
        etcdArchive: lab.etcdArchive,
        clientCertificates: LAB_CLIENTS,
        // The lab's archive is built from Debian's packages, not the official release: its checksum is vouched for
        // here, the way a user vouches for a build of their own.
        etcdSha256: createHash("sha256").update(fs.readFileSync(lab.etcdArchive)).digest("hex"),
        ...extra,
    };
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [`etcd-cluster:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** Unpacks etcdctl from the lab's release tarball, for clients on this machine. */
function labEtcdctl(lab: LabHosts, dir: string): string {
    const bin = path.join(dir, "bin");
    const etcdctl = path.join(bin, `etcdctl-${lab.etcdVersion}`);
    if (!fs.existsSync(etcdctl)) {
        fs.mkdirSync(bin, { recursive: true });
        const top = path.basename(lab.etcdArchive).replace(/\.tar\.gz$/, "");
        execFileSync("tar", ["-xzf", lab.etcdArchive, "-C", bin, "--strip-components=1", `${top}/etcdctl`]);
        fs.renameSync(path.join(bin, "etcdctl"), etcdctl);
    }
    return etcdctl;
}

/**
 * A stack whose target makes its own machines (cloud-deploy.ts): its whole config, and how to reach the machines it
 * made. The lab runtime then runs in the lab namespace for the network only (nsenter --net), because its cloud
 * stand-ins boot lab hosts, which needs the machine's own mounts and cgroups (`ip netns exec` gives it its own /sys).
 */
export interface CloudStack { config: Record<string, string>; sshUser: string; sshKey(dir: string): string }

export async function deploy(lab: LabHosts, opts: { dir: string; extraConfig?: Record<string, unknown>; log?: (line: string) => void; cloud?: CloudStack }): Promise<DeployResult> {
    const started = Date.now();
    const runDir = path.join(opts.dir, "run");
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const request = path.join(runDir, "request.json");
    const outputsFile = path.join(runDir, "outputs.json");
    fs.rmSync(outputsFile, { force: true });
    fs.writeFileSync(request, JSON.stringify({
        program: path.join(REPO, "index.ts"),
        project: "etcd-cluster",
        stack: "lab",
        config: opts.cloud?.config ?? labConfig(lab, opts.extraConfig),
        secretKeys: ["etcd-cluster:sshPrivateKey"],
        state: path.join(opts.dir, "state.json"),
        outputs: outputsFile,
    }), { mode: 0o600 });

    const lines: string[] = [];
    const log = (line: string) => { lines.push(line); opts.log?.(line); };
    const code = await new Promise<number>((resolve, reject) => {
        const enter = opts.cloud ? ["nsenter", `--net=/run/netns/${lab.netns}`, "--"] : ["ip", "netns", "exec", lab.netns];
        const child = spawn(enter[0], [...enter.slice(1), process.execPath, "--import", "tsx", path.join(__dirname, "run-program.ts"), request], {
            cwd: REPO, stdio: ["ignore", "pipe", "pipe"],
        });
        let tail = "";
        const onData = (chunk: Buffer) => {
            tail += chunk.toString();
            const lines = tail.split("\n");
            tail = lines.pop()!;
            lines.forEach(log);
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("error", reject);
        child.on("close", (c) => { if (tail) log(tail); resolve(c ?? 1); });
    });
    const step = /^(\+-|[+~=-]) /;
    if (code !== 0) throw new Error(`deployment failed (exit ${code}):\n${lines.filter((l) => !step.test(l)).slice(-40).join("\n")}`);

    const outputs = JSON.parse(fs.readFileSync(outputsFile, "utf8")) as Record<string, unknown>;
    const write = (name: string, content: unknown, mode: number) => {
        const file = path.join(opts.dir, name);
        fs.writeFileSync(file, String(content), { mode });
        fs.chmodSync(file, mode);
        return file;
    };
    const clientsDir = path.join(opts.dir, "clients");
    fs.rmSync(clientsDir, { recursive: true, force: true });
    fs.mkdirSync(clientsDir, { mode: 0o700 });
    const clientOutputs = outputs.clientCertificates as Record<string, { certificate: string; privateKey: string; user: string; prefix: string; password?: string }>;
    const clients = Object.fromEntries(Object.entries(clientOutputs).map(([name, c]): [string, ClientInfo] => [name, {
        cert: write(`clients/${name}.crt`, c.certificate, 0o644),
        key: write(`clients/${name}.key`, c.privateKey, 0o600),
        user: c.user,
        ...(c.password === undefined ? {} : { passwordFile: write(`clients/${name}.password`, c.password, 0o600) }),
        prefix: c.prefix,
    }]));
    const info: ClusterInfo = {
        netns: lab.netns,
        endpoints: outputs.clientEndpoints as string[],
        members: opts.cloud
            ? (outputs.memberNames as string[]).map((name, i) => ({ name, address: new URL((outputs.clientEndpoints as string[])[i]).hostname }))
            : lab.hosts.map((h) => ({ name: h.name, address: h.address })),
        ca: write("ca.crt", outputs.caCertificate, 0o644),
        cert: write("admin.crt", outputs.adminCertificate, 0o644),
        key: write("admin.key", outputs.adminPrivateKey, 0o600),
        sshKey: opts.cloud ? opts.cloud.sshKey(opts.dir) : lab.sshKey,
        sshUser: opts.cloud?.sshUser ?? lab.sshUser,
        etcdctl: labEtcdctl(lab, opts.dir),
        clients,
    };
    fs.writeFileSync(path.join(opts.dir, "cluster.json"), JSON.stringify(info, null, 2) + "\n");
    return { info, outputs, seconds: (Date.now() - started) / 1000, changes: lines.filter((l) => step.test(l) && !l.startsWith("= ")) };
}

/** Removes what deployments left in the lab dir (keys and certificates, outputs, cluster.json); the cache stays. */
export function forgetDeployments(dir: string): void {
    for (const name of ["state.json", "run", "cluster.json", "ca.crt", "admin.crt", "admin.key", "clients", "bin", "login-key"]) {
        fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
}

export interface EtcdctlOptions { endpoints?: string[]; cert?: { cert?: string; key?: string } | null; timeout?: string }

/** The command line that runs etcdctl against the lab cluster as the admin (or `cert`), from inside the lab namespace. */
export function etcdctlCommand(info: ClusterInfo, args: string[], opts: EtcdctlOptions = {}): [string, string[]] {
    const auth = opts.cert === null ? [] : [`--cert=${opts.cert?.cert ?? info.cert}`, `--key=${opts.cert?.key ?? info.key}`];
    const timeout = opts.timeout ?? "5s";
    return ["ip", ["netns", "exec", info.netns, info.etcdctl, `--endpoints=${(opts.endpoints ?? info.endpoints).join(",")}`,
        `--cacert=${info.ca}`, ...auth, "--dial-timeout=3s", `--command-timeout=${timeout}`, ...args]];
}

export function etcdctl(info: ClusterInfo, args: string[], opts: EtcdctlOptions = {}): { status: number; stdout: string; stderr: string } {
    const [file, argv] = etcdctlCommand(info, args, opts);
    const r = spawnSync(file, argv, { encoding: "utf8" });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
