// The scenarios that run on lab hosts: deploys from fresh hosts, an unchanged re-deploy, a rolling change under a
// continuous writer; then, on six hosts, our cluster and the hand-made reference side by side for failover and
// etcdctl check perf.
import * as path from "node:path";
import { ClusterInfo, deploy, forgetDeployments } from "../lab/deploy";
import { mainPids, missingWrites, startWriter, WriterReport } from "../lab/e2e-support";
import { LabHosts, labDown, labUp } from "../lab/hosts";
import { checkPerf } from "./check-perf";
import { leaderOutageMs, LeaderEvent } from "./failover";
import { BenchOptions } from "./options";
import { startReference } from "./reference";
import { Results, Side } from "./results";
import { writeRoundTripMs } from "./writes";

/** Our clusters are deployed at this tier; its load is the one `check perf` should carry. */
export const TIER = "small";
const CONFIG = { size: TIER };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LabContext { dir: string; results: Results; log: (line: string) => void }

async function freshHosts(ctx: LabContext, count: number): Promise<LabHosts> {
    await labDown({ dir: ctx.dir });
    forgetDeployments(ctx.dir);
    const t = performance.now();
    const lab = await labUp({ count, dir: ctx.dir });
    ctx.results.add(`hosts boot, ${count} hosts (not part of deploy)`, "s", "ours", (performance.now() - t) / 1000);
    return lab;
}

async function redeploy(ctx: LabContext, lab: LabHosts, info: ClusterInfo): Promise<void> {
    const pids = mainPids(info);
    const r = await deploy(lab, { dir: ctx.dir, extraConfig: CONFIG });
    if (mainPids(info).join() !== pids.join()) throw new Error("a re-deploy that changes nothing restarted etcd: its time would measure something else");
    ctx.log(`re-deploy that changes nothing: ${r.seconds.toFixed(1)} s`);
    ctx.results.add("re-deploy that changes nothing, 3 members", "s", "ours", r.seconds);
}

async function rollingChange(ctx: LabContext, lab: LabHosts, info: ClusterInfo, run: number): Promise<void> {
    const roundTrip = await writeRoundTripMs(info, `bench/rtt/${run}/`);
    const pids = mainPids(info);
    const prefix = `bench/roll/${run}/`;
    const writer = startWriter(info, prefix);
    let seconds: number;
    let report: WriterReport;
    try {
        await sleep(2000);
        // A new value each run, so a run on a cluster that an earlier run changed still changes every member.
        seconds = (await deploy(lab, { dir: ctx.dir, extraConfig: { ...CONFIG, snapshotCount: 5000 + run } })).seconds;
        await sleep(2000);
    } finally {
        report = await writer.stop();
    }
    const restarted = mainPids(info).filter((pid, i) => pid !== pids[i]).length;
    if (restarted !== info.members.length) throw new Error(`the rolling change restarted ${restarted} of ${info.members.length} members`);
    ctx.log(`rolling change: ${seconds.toFixed(1)} s; writer: ${report.acked.length} acknowledged, ${report.failed} failed, longest gap ${report.longestGapMs} ms; one write ${roundTrip.toFixed(0)} ms`);
    const r = ctx.results;
    r.add("rolling change of every member (snapshotCount), 3 members", "s", "ours", seconds);
    r.add("rolling change: longest gap between acknowledged writes", "ms", "ours", report.longestGapMs);
    r.add("rolling change: one write's round trip, idle cluster (median of 20)", "ms", "ours", roundTrip);
    r.add("rolling change: longest gap minus one round trip (target ≤ 30)", "ms", "ours", report.longestGapMs - roundTrip);
    r.add("rolling change: failed writes (must be 0)", "count", "ours", report.failed);
    r.add("rolling change: acknowledged writes lost (must be 0)", "count", "ours", missingWrites(info, prefix, report.acked).length);
}

export async function deployScenarios(ctx: LabContext, opts: BenchOptions): Promise<void> {
    const sizes = opts.only.has("deploy") ? opts.nodes : [];
    const threeOnEveryRun = sizes.includes(3);
    const afterDeploy = async (lab: LabHosts, info: ClusterInfo, run: number) => {
        if (opts.only.has("redeploy")) await redeploy(ctx, lab, info);
        if (opts.only.has("rolling")) await rollingChange(ctx, lab, info, run);
    };
    for (const n of sizes) {
        for (let run = 1; run <= opts.runs; run++) {
            const lab = await freshHosts(ctx, n);
            const r = await deploy(lab, { dir: ctx.dir, extraConfig: CONFIG });
            ctx.log(`deploy, ${n} members, run ${run}/${opts.runs}: ${r.seconds.toFixed(1)} s`);
            ctx.results.add(`deploy to healthy from fresh hosts, ${n} members`, "s", "ours", r.seconds);
            if (n === 3) await afterDeploy(lab, r.info, run);
        }
    }
    if (threeOnEveryRun || !(opts.only.has("redeploy") || opts.only.has("rolling"))) return;
    // Without fresh 3-member deploys to follow, one cluster serves every run.
    const lab = await freshHosts(ctx, 3);
    const { info } = await deploy(lab, { dir: ctx.dir, extraConfig: CONFIG });
    for (let run = 1; run <= opts.runs; run++) {
        ctx.log(`re-deploy / rolling change, run ${run}/${opts.runs}`);
        await afterDeploy(lab, info, run);
    }
}

export async function sideBySideScenarios(ctx: LabContext, opts: BenchOptions): Promise<void> {
    ctx.log("ours on hosts 1-3, the hand-made reference on hosts 4-6");
    await labDown({ dir: ctx.dir });
    forgetDeployments(ctx.dir);
    const lab = await labUp({ count: 6, dir: ctx.dir });
    const ours = (await deploy({ ...lab, hosts: lab.hosts.slice(0, 3) }, { dir: ctx.dir, extraConfig: CONFIG })).info;
    const reference = await startReference(lab, lab.hosts.slice(3), path.join(ctx.dir, "reference"), ours.etcdctl);
    // Each run alternates which cluster goes first, so a machine getting busier does not favour one of them.
    const both = (run: number): Array<[Side, ClusterInfo]> => (run % 2 ? [["ours", ours], ["reference", reference]] : [["reference", reference], ["ours", ours]]);
    const events: Array<[LeaderEvent, string]> = [["kill", "SIGKILL of the leader"], ["stop", "graceful stop of the leader"]];
    for (let run = 1; opts.only.has("failover") && run <= opts.runs; run++) {
        for (const [event, what] of events) {
            for (const [side, info] of both(run)) {
                const ms = await leaderOutageMs(info, event, `bench/${event}/${run}/`);
                ctx.log(`${what}, ${side}, run ${run}/${opts.runs}: ${ms} ms`);
                ctx.results.add(`write unavailability after ${what} (to first acknowledged write)`, "ms", side, ms);
            }
        }
    }
    for (let run = 1; opts.only.has("perf") && run <= opts.runs; run++) {
        for (const load of opts.loads) {
            for (const [side, info] of both(run)) {
                const r = await checkPerf(info, load);
                ctx.log(`etcdctl check perf --load=${load}, ${side}, run ${run}/${opts.runs}: ${r.verdicts.join("; ")}`);
                ctx.results.add(`etcdctl check perf --load=${load}: result`, "pass", side, r.pass ? 1 : 0);
                ctx.results.add(`etcdctl check perf --load=${load}: throughput`, "writes/s", side, r.writesPerSecond);
            }
        }
    }
}
