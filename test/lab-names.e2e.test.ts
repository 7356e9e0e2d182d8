/**
 * End to end, on the lab: a member's DNS names (`hosts[i].dnsNames`) are advertised after its address and carried by
 * its server certificate, so a client that connects by name verifies TLS, while etcd listens and peers on addresses
 * only; and systemd's exposure rating of the running unit. Needs root and systemd-nspawn; elsewhere it skips, saying
 * why. It tears down any running lab first and always tears down its own.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ClusterInfo, deploy, etcdctlCommand } from "./lab/deploy";
import { freshLab, labSkip, log, ok, ssh, tearDownLab } from "./lab/e2e-support";
import { LabHosts } from "./lab/hosts";
import { labDir } from "./lab/lab-id";

const DIR = labDir();
const skip = labSkip("lab names end-to-end test");
const dnsName = (member: string) => `${member}.etcd.lab.test`;

let lab: LabHosts;
let info: ClusterInfo;
let outputs: Record<string, unknown>;

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 3 });
    // The names resolve on every member, as the user's DNS would make them resolve.
    const hostLines = lab.hosts.map((h) => `${h.address} ${dnsName(h.name)}\n`).join("");
    for (const h of lab.hosts) ssh({ netns: lab.netns, sshKey: lab.sshKey, sshUser: lab.sshUser } as ClusterInfo, h.address, "cat >> /etc/hosts", hostLines);
    const hosts = lab.hosts.map((h) => ({ ...h, user: lab.sshUser, dnsNames: [dnsName(h.name)] }));
    ({ info, outputs } = await deploy(lab, { dir: DIR, extraConfig: { hosts } }));
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

interface Member { name: string; clientURLs: string[]; peerURLs: string[] }

test("each member advertises its address and its name to clients, peers and listens on its address only; outputs stay on addresses", { skip }, () => {
    const members = (JSON.parse(ok(info, ["member", "list", "-w", "json"]).replace(/:(\d{15,})/g, ':"$1"')) as { members: Member[] }).members;
    assert.equal(members.length, 3);
    for (const h of lab.hosts) {
        const m = members.find((x) => x.name === h.name)!;
        assert.deepEqual([...m.clientURLs].sort(), [`https://${h.address}:2379`, `https://${dnsName(h.name)}:2379`].sort(), `${h.name} advertises address and name`);
        assert.deepEqual(m.peerURLs, [`https://${h.address}:2380`], `${h.name} peers on its address`);
        const listening = ssh(info, h.address, "ss -Htln '( sport = :2379 or sport = :2380 )' | awk '{ print $4 }' | sort").split("\n");
        assert.deepEqual(listening, [`${h.address}:2379`, `${h.address}:2380`, "127.0.0.1:2379"].sort(), `${h.name} listens on IPs only`);
    }
    assert.deepEqual(outputs.clientEndpoints, lab.hosts.map((h) => `https://${h.address}:2379`));
});

/**
 * etcdctl as the admin against `endpoint`, resolving names through `hostsFile` alone: it is bound over /etc/hosts in
 * a mount namespace of this command's own, so nothing on this machine changes.
 */
function etcdctlResolving(hostsFile: string, endpoint: string, args: string[]): { status: number; stderr: string } {
    const [file, argv] = etcdctlCommand(info, args, { endpoints: [endpoint] });
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, file, ...argv], { encoding: "utf8" });
    return { status: r.status ?? 1, stderr: r.stderr };
}

test("a client that connects by a member's name verifies TLS against it; a name the certificate does not carry is refused", { skip }, () => {
    const tmp = fs.mkdtempSync(path.join(DIR, "names-"));
    try {
        const [first] = lab.hosts;
        const hostsFile = path.join(tmp, "hosts");
        // Both names lead to the same member; only one is in its certificate.
        fs.writeFileSync(hostsFile, `${first.address} ${dnsName(first.name)}\n${first.address} impostor.etcd.lab.test\n`);
        const byName = etcdctlResolving(hostsFile, `https://${dnsName(first.name)}:2379`, ["endpoint", "health"]);
        assert.equal(byName.status, 0, byName.stderr);
        const impostor = etcdctlResolving(hostsFile, "https://impostor.etcd.lab.test:2379", ["endpoint", "health"]);
        assert.notEqual(impostor.status, 0, "a name outside the certificate fails verification");
        const served = spawnSync("sh", ["-c", `ip netns exec ${info.netns} openssl s_client -connect ${first.address}:2379 -CAfile ${info.ca} ` +
            `-cert ${info.cert} -key ${info.key} -verify_return_error -verify_hostname "$0" </dev/null`, "impostor.etcd.lab.test"], { encoding: "utf8" });
        assert.notEqual(served.status, 0);
        assert.match(served.stdout + served.stderr, /hostname mismatch/, "the reason: the certificate does not name it");
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});

test("systemd rates the running etcd unit's exposure at 1.5 or lower", { skip }, () => {
    const report = ssh(info, lab.hosts[0].address, "systemd-analyze security --no-pager etcd.service");
    const exposure = /Overall exposure level for etcd\.service: (\d+\.\d)/.exec(report);
    assert.ok(exposure, report);
    log(`systemd-analyze security etcd.service on ${lab.hosts[0].name}: ${exposure[1]}`);
    assert.ok(Number(exposure[1]) <= 1.5, `exposure ${exposure[1]}`);
});
