// Command line of `npm run bench`.

export const SCENARIOS = ["eval", "deploy", "redeploy", "rolling", "failover", "perf"] as const;
export type Scenario = (typeof SCENARIOS)[number];
const LOADS = ["s", "m", "l", "xl"];
const SIZES = [3, 5, 7];

export interface BenchOptions { runs: number; only: Set<Scenario>; nodes: number[]; loads: string[] }

export const USAGE = `usage: npm run bench [-- --runs N] [--only ${SCENARIOS.join(",")}] [--nodes 3,5,7] [--loads s,m]
  --runs N    runs of each scenario (default 3)
  --only ...  scenarios to run (default all):
                eval      program evaluation under mocks, 3 and 7 members (no lab needed)
                deploy    fresh hosts to a healthy cluster, for each --nodes size (host boot shown apart)
                redeploy  a re-deploy of 3 members that changes nothing
                rolling   a rolling change of every member with a client writing continuously
                failover  write unavailability after SIGKILL / graceful stop of the leader, ours and reference
                perf      etcdctl check perf for each --loads load, ours and reference
  --nodes     member counts for deploy (default 3,5,7)
  --loads     check perf loads (default s,m)`;

function list(flag: string, raw: string | undefined, allowed: readonly string[]): string[] {
    const values = (raw ?? "").split(",").map((v) => v.trim()).filter(Boolean);
    const wrong = values.filter((v) => !allowed.includes(v));
    if (values.length === 0 || wrong.length > 0) throw new Error(`${flag} ${raw ?? ""}: expected a comma-separated list of ${allowed.join(", ")}\n${USAGE}`);
    return [...new Set(values)];
}

export function parseOptions(argv: string[]): BenchOptions {
    const out: BenchOptions = { runs: 3, only: new Set(SCENARIOS), nodes: SIZES, loads: ["s", "m"] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = argv[++i];
        if (a === "--runs") {
            out.runs = Number(value);
            if (!/^\d+$/.test(value ?? "") || out.runs < 1) throw new Error(`--runs ${value ?? ""}: expected a whole number of at least 1\n${USAGE}`);
        } else if (a === "--only") out.only = new Set(list(a, value, SCENARIOS) as Scenario[]);
        else if (a === "--nodes") out.nodes = list(a, value, SIZES.map(String)).map(Number);
        else if (a === "--loads") out.loads = list(a, value, LOADS);
        else throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
    return out;
}
