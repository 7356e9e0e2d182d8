// Runs a Pulumi program for real under the lab runtime (runtime.ts), without the Pulumi CLI:
//
//   node --import tsx test/lab/run-program.ts <request.json>
//
// request.json: { "program": "<path to index.ts>", "project": "etcd-cluster", "stack": "lab",
//   "config": { "etcd-cluster:key": "<value as Pulumi passes it: a string, JSON for objects>" },
//   "secretKeys": ["etcd-cluster:sshPrivateKey"], "state": "<lab state file>", "outputs": "<outputs file>" }
//
// Logs one line per resource on stderr ("+" created, "~" updated, "+-" replaced, "=" unchanged, "-" deleted, "!"
// failed). Exits 0 once every resource has been registered, every stack output resolved and every resource that left
// the program deleted, after writing the outputs as plain JSON (secrets included: mode 600). On any failure, names
// the failing resource with its error (a remote command's output included), writes no outputs file and exits 1.

import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LabRuntime } from "./runtime";
import { LabState } from "./runtime-state";

interface Request {
    program: string;
    project: string;
    stack: string;
    config: Record<string, string>;
    secretKeys: string[];
    state: string;
    outputs: string;
}

function readRequest(path: string): Request {
    const request = JSON.parse(readFileSync(path, "utf8")) as Partial<Request>;
    for (const key of ["program", "project", "stack", "state", "outputs"] as const) {
        if (typeof request[key] !== "string") throw new Error(`${path}: "${key}" must be a string`);
    }
    const config = request.config ?? {};
    if (typeof config !== "object" || Object.values(config).some((value) => typeof value !== "string")) {
        throw new Error(`${path}: "config" must map keys to string values`);
    }
    const secretKeys = request.secretKeys ?? [];
    if (!Array.isArray(secretKeys) || secretKeys.some((key) => typeof key !== "string")) {
        throw new Error(`${path}: "secretKeys" must be a list of strings`);
    }
    return { ...(request as Request), config, secretKeys };
}

// The stack outputs are the program module's exports, resolved to plain values.
async function stackOutputs(exports: unknown): Promise<Record<string, unknown>> {
    if (exports === null || typeof exports !== "object") {
        throw new Error("the program must export its stack outputs with `export const`");
    }
    const outputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(exports)) {
        // promise() is the SDK's internal accessor: it yields secret values too, and rejects when a resource failed.
        outputs[name] = await (pulumi.output(value) as unknown as { promise(): Promise<unknown> }).promise();
    }
    return outputs;
}

function describe(err: unknown): string {
    return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

async function main(): Promise<number> {
    const requestPath = process.argv[2];
    if (!requestPath) throw new Error("usage: node --import tsx test/lab/run-program.ts <request.json>");
    const request = readRequest(requestPath);
    await rm(request.outputs, { force: true }); // a failed run must not leave an earlier run's outputs behind

    // The SDK re-raises a failed registration, and each output that depended on it, as unhandled rejections.
    const rejections: unknown[] = [];
    process.on("unhandledRejection", (reason) => rejections.push(reason));

    const runtime = new LabRuntime(await LabState.load(request.state), (line) => process.stderr.write(`${line}\n`));
    pulumi.runtime.setAllConfig(request.config, request.secretKeys);
    await pulumi.runtime.setMocks(runtime, request.project, request.stack, false);
    runtime.observeOptions();

    let outputs: Record<string, unknown> | undefined;
    let programError: unknown;
    try {
        outputs = await stackOutputs(require(resolve(request.program)));
    } catch (err) {
        programError = err;
    }
    await pulumi.runtime.disconnect(); // returns once every registration has settled
    const programFailed = programError !== undefined || rejections.length > 0 || outputs === undefined;
    // As the engine: resources are deleted only after the whole program and every registration succeeded.
    if (runtime.failures.length === 0 && !programFailed) await runtime.deleteRemoved();

    if (runtime.failures.length > 0) {
        for (const { resource, error } of runtime.failures) process.stderr.write(`\nerror: ${resource}\n${error.message}\n`);
        if (runtime.skipped.length > 0) {
            process.stderr.write(`\n${runtime.skipped.length} resource(s) skipped after the failure\n`);
        }
        return 1;
    }
    if (programFailed) {
        const errors = programError !== undefined ? [programError, ...rejections] : rejections;
        for (const err of errors) process.stderr.write(`\nerror: the program failed\n${describe(err)}\n`);
        return 1;
    }
    await writeFile(request.outputs, `${JSON.stringify(outputs, null, 2)}\n`, { mode: 0o600 });
    return 0;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`error: ${describe(err)}\n`);
        process.exit(1);
    },
);
