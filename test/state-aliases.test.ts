// Resources that moved in the component tree keep their state: an existing stack's preview shows no create/delete.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";

test("a member's disks step, now a child of the cluster, answers to the URN it had as a child of its member", async () => {
    await pulumi.runtime.setMocks({
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: () => { throw new Error("no invokes"); },
    }, "etcd-cluster", "dev", false);
    const { diskSteps } = await import("../components/disks");
    const aliases: pulumi.Input<pulumi.URN | pulumi.Alias>[] = [];
    const record: pulumi.ResourceTransformation = (args) => {
        if (args.name === "etcd-1-disks") aliases.push(...(args.opts.aliases ?? []));
        return undefined;
    };
    class Cluster extends pulumi.ComponentResource {
        constructor() { super("etcd-cluster:index:Cluster", "etcd", {}, { transformations: [record] }); }
    }
    const cluster = new Cluster();
    const machine = { name: "etcd-1", address: "10.0.0.11", user: "root", identity: "i-1", connection: { host: "10.0.0.11" }, dataDevice: "/dev/vdb" };
    diskSteps([machine], { dataDir: "/var/lib/etcd", walDir: "/var/lib/etcd-wal" }, cluster);
    assert.equal(aliases.length, 1);
    const parent = await new Promise<string>((resolve) => pulumi.output((aliases[0] as pulumi.Alias).parent as pulumi.Input<string>).apply(resolve));
    assert.equal(parent, "urn:pulumi:dev::etcd-cluster::etcd-cluster:index:Cluster$etcd-cluster:member:Member::etcd-1");
});
