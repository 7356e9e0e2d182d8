import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { Machine } from "./targets/machine";
import { CaRecipe, renderPreflightScript, renderTrustScript } from "./scripts/guards";
import { remoteCommand } from "./scripts/remote";

/**
 * The guards of a cluster: a preflight on every member before any key, certificate, binary or file is made or
 * changed, and a trust check on every member once the CA exists and before any member is set up. A refusal on one
 * member stops the update everywhere, because every member's first step waits for every guard.
 */

export function caRecipe(config: ClusterConfig, stack: string): CaRecipe {
    return { keyAlgorithm: config.keyAlgorithm, stack, caValidityDays: config.caValidityDays };
}

function guardStep(machine: Machine, name: string, label: string, script: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(name, {
        connection: machine.connection,
        create: pulumi.output(script).apply((s) => remoteCommand(s, { user: machine.user, label: `${label} ${machine.name}` })),
        triggers: [machine.identity],
    }, opts);
}

/** After the machine's disks are mounted (`disks`, per machine), so that data on a kept disk counts as data. */
export function preflightSteps(machines: Machine[], config: ClusterConfig, stack: string, disks: (pulumi.Resource | undefined)[], parent: pulumi.Resource): command.remote.Command[] {
    return machines.map((m, i) => guardStep(m, `${m.name}-preflight`, "preflight of", renderPreflightScript({
        memberName: m.name, dataDir: config.dataDir, walDir: config.walDir, etcdVersion: config.etcdVersion, recipe: caRecipe(config, stack),
    }), { parent, dependsOn: [...(m.dependsOn ?? []), ...(disks[i] ? [disks[i]!] : [])] }));
}

/** After every up-front preflight (and, on a machine created later, its own). */
export function trustSteps(machines: Machine[], config: ClusterConfig, stack: string, caCertPem: pulumi.Output<string>, preflights: command.remote.Command[], parent: pulumi.Resource): command.remote.Command[] {
    const upFront = upFrontGuards(machines, preflights);
    return machines.map((m, i) => guardStep(m, `${m.name}-trust`, "trust check of", caCertPem.apply((caCertificate) => renderTrustScript({
        memberName: m.name, dataDir: config.dataDir, recipe: caRecipe(config, stack), caCertificate,
    })), { parent, dependsOn: m.holdChangesUntil ? [...upFront, preflights[i]] : upFront }));
}

/**
 * The machines as the members see them: nothing runs on any of them before every guard of the machines that exist
 * up front has passed. A machine a target creates only after the previous member has applied (holdChangesUntil, a
 * cloud's rolling instances) cannot be guarded before the cluster changes: its own guards come first on it alone.
 */
export function guardedMachines(machines: Machine[], guards: Map<Machine, pulumi.Resource[]>): Machine[] {
    const upFront = machines.filter((m) => !m.holdChangesUntil).flatMap((m) => guards.get(m) ?? []);
    return machines.map((m) => ({
        ...m,
        dependsOn: [...(m.dependsOn ?? []), ...upFront, ...(m.holdChangesUntil ? guards.get(m) ?? [] : [])],
    }));
}

/** The guards the CA must wait for: those of machines that exist before any member changes. */
export function upFrontGuards(machines: Machine[], steps: command.remote.Command[]): command.remote.Command[] {
    return steps.filter((_, i) => !machines[i].holdChangesUntil);
}
