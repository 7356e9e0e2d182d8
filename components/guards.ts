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

export function preflightSteps(machines: Machine[], config: ClusterConfig, stack: string, parent: pulumi.Resource): command.remote.Command[] {
    return machines.map((m) => guardStep(m, `${m.name}-preflight`, "preflight of", renderPreflightScript({
        memberName: m.name, dataDir: config.dataDir, walDir: config.walDir, etcdVersion: config.etcdVersion, recipe: caRecipe(config, stack),
    }), { parent, dependsOn: m.dependsOn }));
}

export function trustSteps(machines: Machine[], config: ClusterConfig, stack: string, caCertPem: pulumi.Output<string>, after: pulumi.Resource[], parent: pulumi.Resource): command.remote.Command[] {
    return machines.map((m) => guardStep(m, `${m.name}-trust`, "trust check of", caCertPem.apply((caCertificate) => renderTrustScript({
        memberName: m.name, dataDir: config.dataDir, recipe: caRecipe(config, stack), caCertificate,
    })), { parent, dependsOn: after }));
}

/** The machines as the members see them: nothing runs on any of them before every guard has passed. */
export function guardedMachines(machines: Machine[], guards: pulumi.Resource[]): Machine[] {
    return machines.map((m) => ({ ...m, dependsOn: [...(m.dependsOn ?? []), ...guards] }));
}
