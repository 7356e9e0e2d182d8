/**
 * The lab plays EC2, as far as it goes today: the security group the AWS stack registers becomes nftables filtering
 * in a lab host's network namespace (test/lab/cloud-aws-firewall.ts), and traffic is tried for real from lab
 * namespaces: members, an allowed client, a client the group does not allow, and the admin network. Needs root and
 * nft; elsewhere it skips, saying why. Instances, volumes and the rolling image change are not emulated yet (README).
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { securityGroupRuleset } from "./lab/cloud-aws-firewall";
import { GATEWAY, LAB_NETNS, createHostNetns, createLabNetns, deleteNetns, hostAddress, hostNetns, labNamespaces, releaseNetnsDir } from "./lab/netns";
import { awsConfig, byType, runProgram } from "./support/program";

const canRun = process.getuid?.() === 0 && spawnSync("nft", ["--version"]).status === 0;
const skip = canRun ? false : "needs root and nft (apt-get install nftables)";
if (skip) console.log(`# lab AWS test skipped: ${skip}`);

// etcd-1 and etcd-2 are members; client-ok is in aws.clientCidrs, client-no is not; the lab gateway is the admin.
const HOSTS = { "etcd-1": 1, "etcd-2": 2, "client-ok": 3, "client-no": 4 } as const;
const address = (name: keyof typeof HOSTS) => hostAddress(HOSTS[name]);
let listener: ChildProcess | undefined;

function reaches(fromNs: string, to: string, port: number): boolean {
    return spawnSync("ip", ["netns", "exec", fromNs, "timeout", "3", "bash", "-c", `</dev/tcp/${to}/${port}`]).status === 0;
}

before(async () => {
    if (skip) return;
    if ((await labNamespaces()).length > 0) throw new Error("this lab's namespaces exist: run `npm run lab -- down` first");
    await createLabNetns();
    for (const name of Object.keys(HOSTS) as Array<keyof typeof HOSTS>) await createHostNetns(name, address(name));
});

after(async () => {
    if (skip) return;
    listener?.kill();
    for (const ns of await labNamespaces()) await deleteNetns(ns);
    await releaseNetnsDir();
});

test("the AWS stack's security group, loaded into a member's namespace: peers from members only, clients only from allowed addresses, SSH from the admin network", { skip }, async () => {
    const run = runProgram(awsConfig(3, { clientCidrs: [`${address("client-ok")}/32`], adminCidrs: [`${GATEWAY}/32`] }));
    assert.equal(run.error, undefined);
    const [group] = byType(run, "aws:ec2/securityGroup:SecurityGroup");
    const member = hostNetns("etcd-1");
    const ruleset = securityGroupRuleset(group.inputs, { self: [address("etcd-1"), address("etcd-2")], byId: {} });
    const load = spawnSync("ip", ["netns", "exec", member, "nft", "-f", "-"], { input: ruleset, encoding: "utf8" });
    assert.equal(load.status, 0, `nft refused the ruleset: ${load.stderr}\n${ruleset}`);
    listener = spawn("ip", ["netns", "exec", member, process.execPath, "-e",
        "for (const p of [22, 2379, 2380]) require('net').createServer((s) => s.end()).listen(p, '0.0.0.0')"], { stdio: "ignore" });
    const target = address("etcd-1");
    for (let i = 0; i < 50 && !reaches(member, "127.0.0.1", 2379); i++) await new Promise((r) => setTimeout(r, 100));

    const seen = (ns: string) => [22, 2379, 2380].filter((port) => reaches(ns, target, port));
    assert.deepEqual(seen(hostNetns("etcd-2")), [2379, 2380], "another member reaches the client and peer ports");
    assert.deepEqual(seen(hostNetns("client-ok")), [2379], "an allowed client reaches the client port only");
    assert.deepEqual(seen(hostNetns("client-no")), [], "a client the group does not allow reaches nothing");
    assert.deepEqual(seen(LAB_NETNS), [22], "the admin network reaches SSH only");
});
