// The reference the bench compares against: a plain 3-member etcd set up by hand the way the hand-written guides
// do it (a CA and certificates made with openssl as the cfssl guides make them, one certificate per member for both
// client and peer TLS, ETCD_* variables in an environment file, a small systemd unit), with the same etcd binary
// and etcd's default flags otherwise (heartbeat 100 ms, election 1000 ms, no tuning).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ClusterInfo, etcdctl } from "../lab/deploy";
import { ssh } from "../lab/e2e-support";
import { LabHost, LabHosts } from "../lab/hosts";

const PKI = "/etc/etcd/pki";

function openssl(cwd: string, args: string[]): void {
    const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** RSA 2048 keys, as the cfssl CSRs of the guides ask for; `extensions` in openssl's config syntax. */
function issue(dir: string, name: string, subject: string, extensions: string): void {
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    openssl(dir, ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}-key.pem`, "-subj", subject, "-out", `${name}.csr`]);
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "30",
        "-extfile", `${name}.ext`, "-out", `${name}.pem`]);
}

function makePki(dir: string, hosts: LabHost[]): void {
    openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-subj", "/CN=etcd-ca", "-days", "30", "-out", "ca.pem"]);
    for (const h of hosts) {
        issue(dir, h.name, `/CN=${h.name}`, [
            `subjectAltName=IP:${h.address},DNS:${h.name},DNS:localhost,IP:127.0.0.1`,
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth,clientAuth",
            "",
        ].join("\n"));
    }
    issue(dir, "admin", "/CN=root", "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
}

function environment(host: LabHost, hosts: LabHost[]): string {
    return [
        `ETCD_NAME=${host.name}`,
        "ETCD_DATA_DIR=/var/lib/etcd",
        `ETCD_LISTEN_PEER_URLS=https://${host.address}:2380`,
        `ETCD_LISTEN_CLIENT_URLS=https://${host.address}:2379,https://127.0.0.1:2379`,
        `ETCD_INITIAL_ADVERTISE_PEER_URLS=https://${host.address}:2380`,
        `ETCD_ADVERTISE_CLIENT_URLS=https://${host.address}:2379`,
        `ETCD_INITIAL_CLUSTER=${hosts.map((h) => `${h.name}=https://${h.address}:2380`).join(",")}`,
        "ETCD_INITIAL_CLUSTER_STATE=new",
        "ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster-0",
        `ETCD_CERT_FILE=${PKI}/etcd.pem`,
        `ETCD_KEY_FILE=${PKI}/etcd-key.pem`,
        `ETCD_TRUSTED_CA_FILE=${PKI}/ca.pem`,
        "ETCD_CLIENT_CERT_AUTH=true",
        `ETCD_PEER_CERT_FILE=${PKI}/etcd.pem`,
        `ETCD_PEER_KEY_FILE=${PKI}/etcd-key.pem`,
        `ETCD_PEER_TRUSTED_CA_FILE=${PKI}/ca.pem`,
        "ETCD_PEER_CLIENT_CERT_AUTH=true",
        "",
    ].join("\n");
}

const UNIT = `[Unit]
Description=etcd
Documentation=https://github.com/etcd-io/etcd
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
EnvironmentFile=/etc/etcd/etcd.env
ExecStart=/usr/local/bin/etcd
Restart=on-failure
RestartSec=5
LimitNOFILE=40000

[Install]
WantedBy=multi-user.target
`;

/** A shell script (read from stdin by the host) that writes `files` and starts etcd without waiting for quorum. */
function installScript(files: Record<string, { content: string; mode: string }>): string {
    const writes = Object.entries(files).map(([file, f]) =>
        `install -D -m ${f.mode} /dev/stdin ${file} <<'EOF_FILE'\n${f.content.replace(/\n$/, "")}\nEOF_FILE`);
    return ["set -eu", `mkdir -p ${PKI}`, ...writes, "mkdir -p -m 700 /var/lib/etcd",
        "systemctl daemon-reload", "systemctl enable etcd.service", "systemctl start --no-block etcd.service", ""].join("\n");
}

/**
 * Sets the reference cluster up on `hosts` (fresh lab hosts), waits until every member is healthy and returns how
 * to reach it. `etcdctl` is the client binary of the same release, on this machine.
 */
export async function startReference(lab: LabHosts, hosts: LabHost[], dir: string, etcdctlPath: string): Promise<ClusterInfo> {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    makePki(dir, hosts);
    const info: ClusterInfo = {
        netns: lab.netns,
        endpoints: hosts.map((h) => `https://${h.address}:2379`),
        members: hosts.map((h) => ({ name: h.name, address: h.address })),
        ca: path.join(dir, "ca.pem"),
        cert: path.join(dir, "admin.pem"),
        key: path.join(dir, "admin-key.pem"),
        sshKey: lab.sshKey,
        sshUser: lab.sshUser,
        etcdctl: etcdctlPath,
    };
    const archive = fs.readFileSync(lab.etcdArchive);
    const read = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
    for (const h of hosts) {
        ssh(info, h.address, "tar -xzf - -C /usr/local/bin --strip-components=1 --wildcards '*/etcd' '*/etcdctl'", archive);
        ssh(info, h.address, "bash -s", installScript({
            [`${PKI}/ca.pem`]: { content: read("ca.pem"), mode: "644" },
            [`${PKI}/etcd.pem`]: { content: read(`${h.name}.pem`), mode: "644" },
            [`${PKI}/etcd-key.pem`]: { content: read(`${h.name}-key.pem`), mode: "600" },
            "/etc/etcd/etcd.env": { content: environment(h, hosts), mode: "644" },
            "/etc/systemd/system/etcd.service": { content: UNIT, mode: "644" },
        }));
    }
    await waitHealthy(info, 60_000);
    return info;
}

/** Waits until every member answers `endpoint health`; throws with etcdctl's last answer when time is up. */
export async function waitHealthy(info: ClusterInfo, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (; ;) {
        const r = etcdctl(info, ["endpoint", "health"], { timeout: "2s" });
        if (r.status === 0) return;
        if (Date.now() > deadline) throw new Error(`cluster ${info.endpoints.join(",")} not healthy after ${timeoutMs / 1000}s: ${r.stderr}${r.stdout}`);
        await new Promise((res) => setTimeout(res, 500));
    }
}
