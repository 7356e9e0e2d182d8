/**
 * `npm run bench [-- --runs N] [--only eval,deploy,...]`: measures what users ask about (deploy times, what a
 * client sees during a rolling change and a leader failure, etcd's load check, program evaluation) and prints a
 * table of min / median / max per scenario, with a hand-made reference cluster measured in the same run where a
 * comparison means something. Writes the figures as JSON under the lab directory's bench/. Root and Linux only
 * (except `--only eval`). Tears down every lab host it started, also on failure and on Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { forgetDeployments } from "../lab/deploy";
import { labDown } from "../lab/hosts";
import { labDir } from "../lab/lab-id";
import { deployScenarios, LabContext, sideBySideScenarios, TIER } from "./lab-scenarios";
import { Load, load, machine } from "./machine";
import { BenchOptions, parseOptions } from "./options";
import { evaluateProgram } from "./program-eval";
import { Results, summaries, table } from "./results";

const DIR = labDir();
const log = (line: string) => console.error(`bench: ${line}`);

let teardown: Promise<void> | undefined;
/** Once, whoever asks first: the end of the run, a failure, or a signal. */
function tearDown(): Promise<void> {
    teardown ??= (async () => {
        log("tearing the lab down (our cluster and the reference live on its hosts)");
        await labDown({ dir: DIR, log });
        forgetDeployments(DIR);
        fs.rmSync(path.join(DIR, "reference"), { recursive: true, force: true });
    })();
    return teardown;
}

const usesLab = (opts: BenchOptions) => ["deploy", "redeploy", "rolling", "failover", "perf"].some((s) => opts.only.has(s as never));

async function measure(opts: BenchOptions, results: Results): Promise<void> {
    for (let run = 1; opts.only.has("eval") && run <= opts.runs; run++) {
        for (const n of [3, 7]) {
            log(`program evaluation under mocks, ${n} members, run ${run}/${opts.runs}`);
            const e = evaluateProgram(n);
            results.add(`program evaluation under mocks, ${n} members`, "ms", "ours", e.evaluationMs);
            results.add(`program run under mocks, ${n} members, whole process (Node, tsx, SDK, evaluation)`, "ms", "ours", e.processMs);
        }
    }
    if (!usesLab(opts)) return;
    if (process.getuid?.() !== 0 || spawnSync("systemd-nspawn", ["--version"]).status !== 0) {
        throw new Error("the lab scenarios need root and systemd-nspawn (`npm run setup` as root); `--only eval` runs without them");
    }
    log(`tearing down lab ${DIR} if one runs: the bench starts from fresh hosts`);
    const ctx: LabContext = { dir: DIR, results, log };
    try {
        if (["deploy", "redeploy", "rolling"].some((s) => opts.only.has(s as never))) await deployScenarios(ctx, opts);
        if (opts.only.has("failover") || opts.only.has("perf")) await sideBySideScenarios(ctx, opts);
    } finally {
        await tearDown();
    }
}

interface Run { opts: BenchOptions; started: Date; before: Load; results: Results }

/** Prints the table and writes the JSON; `incomplete` says why only some figures exist (a failure, a signal). */
function report(run: Run, incomplete?: string): void {
    const { opts, started, before, results } = run;
    const after = load();
    const host = machine();
    const header = [
        `etcd-cluster bench, ${started.toISOString()}: ${opts.runs} run(s) per scenario; values min / median / max (one value: one run)`,
        ...(incomplete ? [`INCOMPLETE (${incomplete}): figures measured so far`] : []),
        `machine: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGiB} GiB memory, Linux ${host.kernel}, Node ${host.node}`,
        `load: 1-minute load average ${before.loadAverage1m.toFixed(2)} at start, ${after.loadAverage1m.toFixed(2)} at end; ` +
        `other labs' hosts running: ${before.otherLabHosts} at start, ${after.otherLabHosts} at end`,
        `ours: size ${TIER}; reference: a plain 3-member etcd set up by hand (openssl CA, ETCD_* env, etcd's defaults), same binary`,
    ];
    console.log(`${header.join("\n")}\n\n${table(results.rows)}`);
    const out = path.join(DIR, "bench", `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({ started: started.toISOString(), finished: new Date().toISOString(), incomplete,
        options: { ...opts, only: [...opts.only] }, machine: host, load: { before, after }, tier: TIER, rows: summaries(results.rows) }, null, 2) + "\n");
    console.log(`\nfigures as JSON: ${out}`);
}

async function main(): Promise<void> {
    const opts = parseOptions(process.argv.slice(2));
    const run: Run = { opts, started: new Date(), before: load(), results: new Results() };
    // Set on a signal; the handler reports and exits once the lab is down, whatever the measuring code does meanwhile.
    let stopping: Promise<void> | undefined;
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(signal, () => {
            if (stopping) return;
            log(`${signal}: stopping`);
            const exit = () => { report(run, signal); process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1)); };
            // The measuring code runs on until the process exits (a lab half up tears itself down too, racing this
            // one): a second pass removes what either left, and only its failure counts.
            const sweep = () => tearDown().catch((e: Error) => log(`first teardown pass: ${e.message.split("\n")[0]}`)).then(() => labDown({ dir: DIR, log }));
            stopping = (usesLab(opts) ? sweep() : Promise.resolve()).then(exit, (e: Error) => { log(`teardown failed: ${e.message}`); exit(); });
        });
    }
    try {
        await measure(opts, run.results);
    } catch (e) {
        // Failing because the lab was torn away under it is the signal's doing: the handler reports that.
        if (stopping) return stopping;
        if (run.results.rows.length > 0) report(run, `failed: ${(e as Error).message.split("\n")[0]}`);
        throw e;
    }
    if (stopping) return stopping;
    report(run);
}

main().catch((e: Error) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    process.exit(1);
});
