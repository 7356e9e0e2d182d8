// What the cloud end-to-end tests (lab-aws, lab-gcp) share: a fresh lab network with the lab's cloud account and two
// client namespaces, and what they look at besides the cluster: the runtime's record of the resources the stack
// made, which ports an address answers on from a given namespace, when a member's machine booted and its etcd started.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "node:assert/strict";
import { after, before } from "node:test";
import { openLabAccount } from "./cloud-deploy";
import { CloudStack, ClusterInfo, deploy, DeployResult } from "./deploy";
import { freshLab, labSkip, missingWrites, ssh, startWriter, tearDownLab } from "./e2e-support";
import { LabHosts } from "./hosts";
import { labDir } from "./lab-id";
import { createHostNetns, hostAddress } from "./netns";

/** Why the cloud end-to-end test `what` cannot run here (said once), or false. */
export function cloudSkip(what: string): string | false {
    return labSkip(what, ["nft"]);
}

/** Client namespaces far above the members' addresses: the stacks put client-ok in their client networks, not client-no. */
export const CLOUD_CLIENTS = { "client-ok": hostAddress(100), "client-no": hostAddress(101) } as const;

/**
 * Registers the file's before and after hooks: a fresh lab network without hosts, the lab's cloud account and the
 * client namespaces before; everything down after. Returns the lab once `before` has run.
 */
export function cloudLabHooks(skip: string | false): () => LabHosts {
    let lab: LabHosts | undefined;
    before(async () => {
        if (skip) return;
        lab = await freshLab(labDir(), { count: 0 });
        await openLabAccount(labDir());
        for (const [name, address] of Object.entries(CLOUD_CLIENTS)) await createHostNetns(name, address);
    });
    after(async () => {
        if (skip) return;
        await tearDownLab(labDir());
    });
    return () => {
        if (!lab) throw new Error("the lab is not up (before hook)");
        return lab;
    };
}

interface State { resources: Record<string, { type: string; name: string; id: string; outputs: Record<string, unknown> }> }

/** The resources of one type by name, from the lab runtime's state (what `pulumi stack export` shows). */
export function stackResources(dir: string, type: string): Record<string, { id: string; outputs: Record<string, unknown> }> {
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as State;
    return Object.fromEntries(Object.values(state.resources).filter((r) => r.type === type).map((r) => [r.name, { id: r.id, outputs: r.outputs }]));
}

/**
 * The ports of `ports` that each of `addresses` accepts a TCP connection on from namespace `netns`. All at once, each
 * given 10 s: a dropped SYN only times out, and a loaded machine is slow to connect.
 */
export function openPorts(netns: string, addresses: string[], ports: number[]): Promise<Record<string, number[]>> {
    const probe = `for a in ${addresses.join(" ")}; do for p in ${ports.join(" ")}; do (timeout 10 bash -c "</dev/tcp/$a/$p" 2>/dev/null && echo $a $p) & done; done; wait`;
    return new Promise((resolve, reject) => execFile("ip", ["netns", "exec", netns, "bash", "-c", probe], { encoding: "utf8" }, (err, stdout) => {
        if (err) return reject(err);
        const open: Record<string, number[]> = Object.fromEntries(addresses.map((a) => [a, []]));
        for (const [address, port] of stdout.split("\n").filter(Boolean).map((l) => l.split(" "))) open[address].push(Number(port));
        resolve(Object.fromEntries(Object.entries(open).map(([a, list]) => [a, list.sort((x, y) => x - y)])));
    }));
}

/** Whether etcdctl, run in namespace `netns` with the admin's certificate, gets the cluster's health. */
export function healthyFrom(info: ClusterInfo, netns: string): boolean {
    return spawnSync("ip", ["netns", "exec", netns, info.etcdctl, `--endpoints=${info.endpoints.join(",")}`, `--cacert=${info.ca}`, `--cert=${info.cert}`,
        `--key=${info.key}`, "--dial-timeout=3s", "--command-timeout=5s", "endpoint", "health"], { encoding: "utf8" }).status === 0;
}

/** Seconds since this machine booted, as the shared kernel counts them, of the guest's PID 1 start and etcd's start. */
export function startTimes(info: ClusterInfo, address: string): { boot: number; etcd: number } {
    const stat = ssh(info, address, "cat /proc/1/stat");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const etcd = Number(ssh(info, address, "systemctl show -p ActiveEnterTimestampMonotonic --value etcd.service"));
    return { boot: ticks / Number(ssh(info, address, "getconf CLK_TCK")), etcd: etcd / 1e6 };
}

/**
 * Deploys `stack` while a client writes keys under `prefix`, then checks that no write failed and every acknowledged
 * one is readable (even when the deployment failed).
 */
export async function deployUnderWriter(info: ClusterInfo, lab: LabHosts, stack: CloudStack, prefix: string, log: (line: string) => void): Promise<DeployResult> {
    const writer = startWriter(info, prefix);
    try {
        return await deploy(lab, { dir: labDir(), log, cloud: stack });
    } finally {
        const report = await writer.stop();
        log(`writer: ${report.acked.length} acknowledged, ${report.failed} failed, longest gap ${report.longestGapMs} ms`);
        assert.equal(report.failed, 0, "no write failed");
        assert.deepEqual(missingWrites(info, prefix, report.acked), [], "every acknowledged write is there");
    }
}
