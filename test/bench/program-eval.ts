// How long the program takes to evaluate under the SDK's mocks (what every `pulumi preview` pays before the engine
// and providers do anything), for n members.
import { hostsConfig, runProgram } from "../support/program";

export interface Evaluation { evaluationMs: number; processMs: number }

export function evaluateProgram(members: number): Evaluation {
    const t = performance.now();
    const run = runProgram(hostsConfig(members));
    const processMs = performance.now() - t;
    if (run.error) throw new Error(`index.ts failed under mocks with ${members} members: ${run.error}`);
    return { evaluationMs: run.evaluationMs, processMs };
}
