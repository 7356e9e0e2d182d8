/**
 * End to end: the lab's hosts change in place (grow, shrink, a host killed with its data, a host rebuilt keeping its
 * data dirs, a fresh host at a new address), the operations day-two scenarios are built on. Nothing is deployed:
 * marker files stand for a member's data. Needs root and systemd-nspawn; elsewhere it skips, saying why. It tears
 * down any running lab first and always tears down its own.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { existsSync } from "fs";
import { LabHosts, labAddHosts, labKill, labRebuild, labRemoveHosts, labUp } from "./lab/hosts";
import { labSsh } from "./lab/hosts-ssh";
import { readState } from "./lab/hosts-state";
import { labDir } from "./lab/lab-id";
import { labNamespaces } from "./lab/netns";
import { labSkip, freshLab, tearDownLab, log } from "./lab/e2e-support";

const DIR = labDir();
const skip = labSkip("lab hosts end-to-end test");

let lab: LabHosts;

async function sh(address: string, command: string): Promise<{ code: number; out: string }> {
    const r = await labSsh(lab.netns, lab.sshKey, address, command, 20_000);
    return { code: r.code, out: r.stdout.trim() };
}
const address = (name: string) => readState(DIR)!.hosts.find((h) => h.name === name)!.address;
const nspawnPid = (name: string) => readState(DIR)!.hosts.find((h) => h.name === name)!.pid;

before(async () => {
    if (skip) return;
    lab = await freshLab(DIR, { count: 3 });
    for (const h of lab.hosts) {
        const r = await sh(h.address, `mkdir -p /var/lib/etcd /var/lib/etcd-wal && echo ${h.name} > /var/lib/etcd/marker && ` +
            `chown nobody:nogroup /var/lib/etcd/marker && chmod 600 /var/lib/etcd/marker && echo ${h.name} > /root/os-marker`);
        assert.equal(r.code, 0, r.out);
    }
});

after(async () => {
    if (skip) return;
    await tearDownLab(DIR);
});

test("a larger count adds hosts and keeps the running ones running, with their files", { skip }, async () => {
    const pids = lab.hosts.map((h) => nspawnPid(h.name));
    const grown = await labUp({ count: 5, dir: DIR, log });
    assert.deepEqual(grown.hosts.map((h) => `${h.name}=${h.address}`), [1, 2, 3, 4, 5].map((i) => `etcd-${i}=10.88.${process.env.ETCD_LAB_ID ?? 0}.${10 + i}`));
    assert.deepEqual(lab.hosts.map((h) => nspawnPid(h.name)), pids, "the same containers run");
    for (const h of lab.hosts) assert.equal((await sh(h.address, "cat /var/lib/etcd/marker")).out, h.name);
    for (const h of grown.hosts.slice(3)) assert.equal((await sh(h.address, "hostname")).out, h.name);
    assert.match((await sh(address("etcd-1"), "cat /etc/hosts")).out, /etcd-5$/m, "every host names the new ones");
});

test("removed hosts are stopped and gone: no answer, no namespace, not recorded", { skip }, async () => {
    const gone = [address("etcd-4"), address("etcd-5")];
    await labRemoveHosts(["etcd-4", "etcd-5"], { dir: DIR, log });
    for (const a of gone) assert.notEqual((await sh(a, "true")).code, 0);
    assert.deepEqual(readState(DIR)!.hosts.map((h) => h.name), ["etcd-1", "etcd-2", "etcd-3"]);
    const namespaces = await labNamespaces();
    assert.ok(!namespaces.some((n) => n.endsWith("-etcd-4") || n.endsWith("-etcd-5")), namespaces.join(" "));
    assert.ok(!existsSync(`${DIR}/hosts/etcd-4`));
});

test("a killed host stops answering at once and loses its files; rebuilt, it is a blank machine at its address", { skip }, async () => {
    await labKill("etcd-3", { dir: DIR, log });
    assert.notEqual((await sh(address("etcd-3"), "true")).code, 0);
    assert.equal(readState(DIR)!.hosts.find((h) => h.name === "etcd-3")!.lost, true);
    assert.deepEqual(await labRebuild("etcd-3", { keepPaths: ["/var/lib/etcd"], dir: DIR, log }), [], "nothing was left to keep");
    assert.equal((await sh(address("etcd-3"), "hostname")).out, "etcd-3");
    assert.equal((await sh(address("etcd-3"), "test -e /var/lib/etcd/marker || test -e /root/os-marker; echo $?")).out, "1");
});

test("a host rebuilt keeping its data dirs has them, with owners and modes, and nothing else of its own", { skip }, async () => {
    const pid = nspawnPid("etcd-2");
    const kept = await labRebuild("etcd-2", { keepPaths: ["/var/lib/etcd", "/var/lib/etcd-wal"], dir: DIR, log });
    assert.deepEqual(kept, ["/var/lib/etcd", "/var/lib/etcd-wal"]);
    assert.notEqual(nspawnPid("etcd-2"), pid, "a new container");
    const a = address("etcd-2");
    assert.equal((await sh(a, "cat /var/lib/etcd/marker; stat -c '%a %U' /var/lib/etcd/marker")).out, "etcd-2\n600 nobody");
    assert.notEqual((await sh(a, "test -e /root/os-marker")).code, 0, "the old system's files are gone");
    assert.equal((await sh(a, "test -x /usr/sbin/sshd && echo image")).out, "image", "the image shows through");
});

test("a fresh host joins at a new address, never one the lab still records", { skip }, async () => {
    const [added] = await labAddHosts({ dir: DIR, log });
    assert.equal(added.name, "etcd-4");
    assert.ok(!readState(DIR)!.hosts.some((h) => h.name !== "etcd-4" && h.address === added.address));
    assert.equal((await sh(added.address, "hostname")).out, "etcd-4");
});
