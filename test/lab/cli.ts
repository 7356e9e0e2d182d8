/**
 * `npm run lab [-- --nodes N] [-- --set key=value ...]`: brings up N lab hosts (default 3) and deploys the real
 * program onto them. On a running lab the hosts change in place: a larger N adds hosts; a smaller N deploys onto the
 * first N hosts and then stops and removes the others.
 * `--disks` gives every host a data and a WAL disk (loop devices, see hosts-disks.ts) and deploys onto them.
 * `--aws [--ami <id>]` deploys an AWS stack of N members onto the lab playing EC2 (cloud-aws.ts) instead: the stack
 * makes its instances, volumes and security group itself; `--ami` names one of the lab's images (cloud-deploy.ts).
 * `--gcp [--image <path>]` likewise deploys a GCP stack onto the lab playing Compute Engine (cloud-gcp.ts): instances,
 * reserved addresses, persistent disks and firewall rules; `--image` names one of the lab's images.
 * `npm run lab -- hosts [--nodes N]` brings up the hosts only (for deploying with the Pulumi CLI).
 * `npm run lab -- add [--count N]` adds N fresh hosts (default 1) at new addresses, deploying nothing.
 * `npm run lab -- remove <host>...` stops and removes hosts. `npm run lab -- kill <host>` kills a host outright, losing
 * its data. `npm run lab -- rebuild <host> [--keep <dir>,...]` makes it fresh from the image at the same address,
 * keeping the named directories (default: the data and WAL dirs; `--keep none` keeps nothing).
 * `npm run lab -- down` removes everything but the cached image. Root and Linux only.
 */
import * as path from "path";
import { awsLabStack, gcpLabStack, LAB_AWS, LAB_GCP, openLabAccount } from "./cloud-deploy";
import { ClusterInfo, deploy, etcdctl, forgetDeployments } from "./deploy";
import { labAddHosts, labDown, labKill, labRebuild, labRemoveHosts, labUp } from "./hosts";
import { readState } from "./hosts-state";
import { labDir } from "./lab-id";

const DIR = labDir();
const DEFAULT_KEEP = ["/var/lib/etcd", "/var/lib/etcd-wal"];
const USAGE = "usage: npm run lab [-- --nodes N] [--disks | --aws [--ami <id>] | --gcp [--image <path>]] [--set key=value] | npm run lab -- hosts [--nodes N] [--disks] | add [--count N] | " +
    "remove <host>... | kill <host> | rebuild <host> [--keep <dir>,...|none] | down";

type Action = "deploy" | "down" | "hosts" | "add" | "remove" | "kill" | "rebuild";

interface Args { action: Action; names: string[]; nodes: number; count: number; keep: string[]; disks: boolean; aws: boolean; ami?: string; gcp: boolean; image?: string; extra: Record<string, string> }

function parse(argv: string[]): Args {
    const out: Args = { action: "deploy", names: [], nodes: 3, count: 1, keep: DEFAULT_KEEP, disks: false, aws: false, gcp: false, extra: {} };
    const actions: Action[] = ["down", "hosts", "add", "remove", "kill", "rebuild"];
    const number = (flag: string, value: string | undefined) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} ${value}: expected a whole number from 1`);
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (i === 0 && (actions as string[]).includes(a)) out.action = a as Action;
        else if (a === "--nodes") out.nodes = number(a, argv[++i]);
        else if (a === "--disks") out.disks = true;
        else if (a === "--aws") out.aws = true;
        else if (a === "--ami") out.ami = argv[++i];
        else if (a === "--gcp") out.gcp = true;
        else if (a === "--image") out.image = argv[++i];
        else if (a === "--count") out.count = number(a, argv[++i]);
        else if (a === "--keep") out.keep = argv[++i] === "none" ? [] : (argv[i] ?? "").split(",").filter(Boolean);
        else if (a === "--set") {
            const [k, ...v] = (argv[++i] ?? "").split("=");
            out.extra[k] = v.join("=");
        } else if (!a.startsWith("-") && ["remove", "kill", "rebuild"].includes(out.action)) out.names.push(a);
        else throw new Error(`unknown argument ${a}; ${USAGE}`);
    }
    if (["kill", "rebuild"].includes(out.action) && out.names.length !== 1) throw new Error(`${out.action} takes one host name; ${USAGE}`);
    if (out.aws && out.gcp) throw new Error(`--aws and --gcp: one cloud at a time; ${USAGE}`);
    if (out.ami !== undefined && !out.aws) throw new Error(`--ami needs --aws; ${USAGE}`);
    if (out.image !== undefined && !out.gcp) throw new Error(`--image needs --gcp; ${USAGE}`);
    if (out.action === "remove" && out.names.length === 0) throw new Error(`remove takes host names; ${USAGE}`);
    return out;
}

async function main(): Promise<void> {
    const args = parse(process.argv.slice(2));
    if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, overlay mounts, systemd-nspawn)");
    const log = (line: string) => console.log(line);
    switch (args.action) {
        case "down":
            await labDown({ dir: DIR, log });
            forgetDeployments(DIR);
            return;
        case "add":
            await labAddHosts({ count: args.count, dir: DIR, log });
            return;
        case "remove":
            await labRemoveHosts(args.names, { dir: DIR, log });
            return;
        case "kill":
            await labKill(args.names[0], { dir: DIR, log });
            return;
        case "rebuild":
            await labRebuild(args.names[0], { keepPaths: args.keep, dir: DIR, log });
            return;
    }
    const t0 = Date.now();
    if (args.aws || args.gcp) return deployCloud(args, log, t0);
    const lab = await labUp({ count: args.nodes, dir: DIR, log, disks: args.disks, onFresh: () => forgetDeployments(DIR) });
    if (args.action === "hosts") {
        console.log(`hosts (reach them inside: ip netns exec ${lab.netns} ...; ssh key ${lab.sshKey}):`);
        for (const h of lab.hosts) console.log(`  ${h.name} ${h.address}`);
        console.log(`etcd ${lab.etcdVersion} release archive: ${lab.etcdArchive}`);
        return;
    }
    console.log(`deploy: running index.ts on ${lab.hosts.length} hosts (etcd ${lab.etcdVersion}, offline archive)`);
    const result = await deploy(lab, { dir: DIR, extraConfig: args.extra, log: (l) => console.log(`  ${l}`) });
    console.log(`deploy: done (${result.seconds.toFixed(1)}s)`);
    // Hosts left out of the deployment (a smaller --nodes) go only once the smaller membership is deployed.
    const extra = (readState(DIR)?.hosts ?? []).map((h) => h.name).filter((n) => !lab.hosts.some((h) => h.name === n));
    if (extra.length > 0) await labRemoveHosts(extra, { dir: DIR, log });
    report(result.info, t0);
}

async function deployCloud(args: Args, log: (line: string) => void, t0: number): Promise<void> {
    const lab = await labUp({ count: 0, dir: DIR, log, onFresh: () => forgetDeployments(DIR) });
    await openLabAccount(DIR);
    const stack = args.aws
        ? awsLabStack(lab, { nodes: args.nodes, aws: args.ami ? { ami: args.ami } : {}, extra: args.extra })
        : gcpLabStack(lab, { nodes: args.nodes, gcp: args.image ? { image: args.image } : {}, extra: args.extra });
    console.log(args.aws
        ? `deploy: running index.ts as an AWS stack of ${args.nodes} members on the lab's EC2 (images ${LAB_AWS.images.join(", ")})`
        : `deploy: running index.ts as a GCP stack of ${args.nodes} members on the lab's Compute Engine (images ${LAB_GCP.images.join(", ")})`);
    const result = await deploy(lab, { dir: DIR, log: (l) => console.log(`  ${l}`), cloud: stack });
    console.log(`deploy: done (${result.seconds.toFixed(1)}s)`);
    report(result.info, t0);
}

function report(info: ClusterInfo, t0: number): void {
    const status = etcdctl(info, ["endpoint", "status", "-w", "table"]);
    console.log(`health:\n${status.stdout}${status.stderr}`);
    console.log(`lab ready in ${((Date.now() - t0) / 1000).toFixed(1)}s. Cluster description: ${path.join(DIR, "cluster.json")}
Use it:
  ip netns exec ${info.netns} ${info.etcdctl} \\
    --endpoints=${info.endpoints.join(",")} \\
    --cacert=${info.ca} --cert=${info.cert} --key=${info.key} \\
    put hello world
  ssh -i ${info.sshKey} ${info.sshUser}@${info.members[0].address}   (from: ip netns exec ${info.netns} ...)
Remove it: npm run lab -- down`);
    if (status.status !== 0) process.exitCode = 1;
}

main().catch((e: Error) => { console.error(`lab: ${e.message}`); process.exit(1); });
