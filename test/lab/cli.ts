/**
 * `npm run lab [-- --nodes N] [-- --set key=value ...]`: brings up N lab hosts (default 3) and deploys the real
 * program onto them. `npm run lab -- hosts` brings up the hosts only (for deploying with the Pulumi CLI).
 * `npm run lab -- down` removes everything but the cached image. Root and Linux only.
 */
import * as path from "path";
import { deploy, etcdctl, forgetDeployments } from "./deploy";
import { labDown, labUp } from "./hosts";
import { labDir } from "./lab-id";

const DIR = labDir();

function parse(argv: string[]): { down: boolean; hostsOnly: boolean; nodes: number; extra: Record<string, string> } {
    const out = { down: false, hostsOnly: false, nodes: 3, extra: {} as Record<string, string> };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "down") out.down = true;
        else if (a === "hosts") out.hostsOnly = true;
        else if (a === "--nodes") out.nodes = Number(argv[++i]);
        else if (a === "--set") {
            const [k, ...v] = (argv[++i] ?? "").split("=");
            out.extra[k] = v.join("=");
        } else throw new Error(`unknown argument ${a}; usage: npm run lab [-- --nodes N] [--set key=value] | npm run lab -- hosts [--nodes N] | npm run lab -- down`);
    }
    if (!Number.isInteger(out.nodes) || out.nodes < 1) throw new Error(`--nodes ${out.nodes}: expected a whole number`);
    return out;
}

async function main(): Promise<void> {
    const args = parse(process.argv.slice(2));
    if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, overlay mounts, systemd-nspawn)");
    const log = (line: string) => console.log(line);
    if (args.down) {
        await labDown({ dir: DIR, log });
        forgetDeployments(DIR);
        return;
    }
    const t0 = Date.now();
    const lab = await labUp({ count: args.nodes, dir: DIR, log });
    if (args.hostsOnly) {
        console.log(`hosts (reach them inside: ip netns exec ${lab.netns} ...; ssh key ${lab.sshKey}):`);
        for (const h of lab.hosts) console.log(`  ${h.name} ${h.address}`);
        console.log(`etcd ${lab.etcdVersion} release archive: ${lab.etcdArchive}`);
        return;
    }
    console.log(`deploy: running index.ts on ${lab.hosts.length} hosts (etcd ${lab.etcdVersion}, offline archive)`);
    const result = await deploy(lab, { dir: DIR, extraConfig: args.extra, log: (l) => console.log(`  ${l}`) });
    console.log(`deploy: done (${result.seconds.toFixed(1)}s)`);
    const status = etcdctl(result.info, ["endpoint", "status", "-w", "table"]);
    console.log(`health:\n${status.stdout}${status.stderr}`);
    console.log(`lab ready in ${((Date.now() - t0) / 1000).toFixed(1)}s. Cluster description: ${path.join(DIR, "cluster.json")}
Use it:
  ip netns exec ${result.info.netns} ${result.info.etcdctl} \\
    --endpoints=${result.info.endpoints.join(",")} \\
    --cacert=${result.info.ca} --cert=${result.info.cert} --key=${result.info.key} \\
    put hello world
  ssh -i ${result.info.sshKey} root@${result.info.members[0].address}   (from: ip netns exec ${result.info.netns} ...)
Remove it: npm run lab -- down`);
    if (status.status !== 0) process.exitCode = 1;
}

main().catch((e: Error) => { console.error(`lab: ${e.message}`); process.exit(1); });
