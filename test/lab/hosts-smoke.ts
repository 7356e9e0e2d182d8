// Self-check of the lab hosts: boots N hosts, checks each over ssh, tears down and checks nothing is left.
// Run as root: node --import tsx test/lab/hosts-smoke.ts [count]   (default 3)
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { labDown, labUp, LabHosts } from "./hosts";
import { labSsh } from "./hosts-ssh";
import { run } from "./hosts-run";
import { LAB_NAME, labCacheDir, labDir } from "./lab-id";

const count = Number(process.argv[2] ?? "3");
const dir = labDir();
const log = (msg: string) => console.log(`[lab] ${msg}`);
const problems: string[] = [];

function check(ok: boolean, what: string): void {
    console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
    if (!ok) problems.push(what);
}

async function ssh(lab: LabHosts, address: string, command: string): Promise<{ code: number; out: string }> {
    const r = await labSsh(lab.netns, lab.sshKey, address, command);
    return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

async function checkHosts(lab: LabHosts): Promise<void> {
    check(lab.hosts.length === count, `${count} hosts: ${lab.hosts.map((h) => `${h.name}=${h.address}`).join(" ")}`);
    check(/^etcd-v\d+\.\d+\.\d+-linux-amd64\.tar\.gz$/.test(lab.etcdArchive.split("/").pop() ?? ""), `etcd archive ${lab.etcdArchive} (etcd ${lab.etcdVersion})`);
    const listing = await run("tar", ["-tzf", lab.etcdArchive]);
    check(["etcd", "etcdctl"].every((b) => listing.includes(`etcd-v${lab.etcdVersion}-linux-amd64/${b}\n`)), "archive has etcd and etcdctl in the official layout");
    for (const h of lab.hosts) {
        const state = await ssh(lab, h.address, "systemctl is-system-running --wait");
        let detail = state.out;
        if (state.out === "degraded") detail += `; failed units: ${(await ssh(lab, h.address, "systemctl --failed --no-legend --plain")).out}`;
        check(state.out === "running" || state.out === "degraded", `${h.name}: system ${detail}`);
        const hostname = await ssh(lab, h.address, "hostname");
        check(hostname.out === h.name, `${h.name}: hostname ${hostname.out}`);
        const etcd = await ssh(lab, h.address, "command -v etcd || systemctl cat etcd.service");
        check(etcd.code !== 0, `${h.name}: no etcd installed`);
        const routes = await ssh(lab, h.address, "ip -4 route");
        check(!routes.out.includes("default"), `${h.name}: no default route (${routes.out.replace(/\n/g, "; ")})`);
    }
    for (const peer of lab.hosts.slice(1)) {
        const r = await ssh(lab, lab.hosts[0].address, `bash -c 'echo > /dev/tcp/${peer.address}/22'`);
        check(r.code === 0, `${lab.hosts[0].name} reaches ${peer.name}:22 ${r.out}`);
    }
}

// nspawn processes booting from this lab's directory (other containers on the machine are not ours to judge).
function nspawnProcesses(): number[] {
    return readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
            try {
                const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
                return argv[0].endsWith("systemd-nspawn") && argv.some((a) => a.startsWith(`${dir}/`));
            } catch {
                return false;
            }
        })
        .map(Number);
}

async function checkNothingLeft(): Promise<void> {
    check(nspawnProcesses().length === 0, `no systemd-nspawn processes (${nspawnProcesses().join(", ")})`);
    const netns = (await run("ip", ["netns", "list"])).split("\n").filter((l) => l.split(" ")[0] === LAB_NAME || l.startsWith(`${LAB_NAME}-`));
    check(netns.length === 0, `no ${LAB_NAME} network namespaces (${netns.join(", ")})`);
    const overlays = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(`${dir}/`));
    check(overlays.length === 0, `no mounts under ${dir} (${overlays.join("; ")})`);
    const cgroups = ["systemd", "unified", ""].map((h) => join("/sys/fs/cgroup", h, LAB_NAME)).filter(existsSync);
    check(cgroups.length === 0, `no lab cgroups (${cgroups.join(", ")})`);
    const files = ["hosts", "ssh", "hosts.json"].filter((f) => existsSync(join(dir, f)));
    check(files.length === 0, `no lab files in ${dir} (${files.join(", ")})`);
    check(readdirSync(labCacheDir(dir)).some((f) => f.startsWith("rootfs-")), "cached image kept");
}

async function main(): Promise<void> {
    let t = Date.now();
    try {
        const lab = await labUp({ count, dir, log });
        console.log(`labUp: ${((Date.now() - t) / 1000).toFixed(1)}s`);
        await checkHosts(lab);
        t = Date.now();
        const again = await labUp({ count, dir, log });
        check(JSON.stringify(again) === JSON.stringify(lab), `second labUp reuses the running hosts (${((Date.now() - t) / 1000).toFixed(1)}s)`);
    } catch (e) {
        check(false, `labUp: ${(e as Error).message}`);
    } finally {
        t = Date.now();
        await labDown({ dir, log });
        console.log(`labDown: ${((Date.now() - t) / 1000).toFixed(1)}s`);
    }
    await checkNothingLeft();
    await labDown({ dir, log }); // safe when nothing is up
    console.log(problems.length === 0 ? "PASS" : `FAIL: ${problems.length} problems`);
    process.exitCode = problems.length === 0 ? 0 : 1;
}

void main();
