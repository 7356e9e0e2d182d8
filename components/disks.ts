import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig } from "./config";
import { Machine } from "./targets/machine";
import { DiskSpec, renderPrepareDisksScript } from "./scripts/disks";
import { remoteCommand } from "./scripts/remote";

/**
 * The `<member>-disks` step of every machine that has a data or WAL device (undefined for one that has none). It runs
 * first, before the guards: a host rebuilt with its data disk kept holds its data only once the disk is mounted, and
 * the guards must see that data to judge the member as existing, not fresh. Safe that early: it formats only blank
 * devices and refuses to mount one that is mounted or recorded elsewhere (a changed dataDir/walDir).
 */
export function diskSteps(machines: Machine[], config: Pick<ClusterConfig, "dataDir" | "walDir">, parent: pulumi.Resource): (command.remote.Command | undefined)[] {
    return machines.map((machine) => {
        const devices = [machine.dataDevice, machine.walDevice];
        if (devices.every((d) => d === undefined)) return undefined;
        return new command.remote.Command(`${machine.name}-disks`, {
            connection: machine.connection,
            create: pulumi.all(devices).apply(([data, wal]) => remoteCommand(renderPrepareDisksScript({
                memberName: machine.name,
                disks: [
                    ...(data ? [{ role: "data", device: data, mountPoint: config.dataDir } satisfies DiskSpec] : []),
                    ...(wal ? [{ role: "wal", device: wal, mountPoint: config.walDir } satisfies DiskSpec] : []),
                ],
            }), { user: machine.user, label: `prepare disks of ${machine.name}` })),
            triggers: [machine.identity],
        }, {
            parent, dependsOn: machine.dependsOn,
            // Until day two this step was a child of its member: same state, so existing stacks see no create/delete.
            aliases: [{ parent: pulumi.createUrn(machine.name, "etcd-cluster:member:Member", parent) }],
        });
    });
}
