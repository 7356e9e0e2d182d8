/** Config of the machine under each member: hosts' data and WAL devices, and the preflight checks. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { RawConfig, validateConfig } from "../components/config";
import { HostsTarget } from "../components/targets/hosts";
import { testHostKey } from "./support/program";

function validate(overrides: RawConfig, hostExtras: Array<Record<string, unknown>> = []) {
    const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `10.0.0.${i}`, hostKey: testHostKey(i), ...hostExtras[i - 1] }));
    return validateConfig({ hosts, ...overrides }, { sshKeySet: true });
}

test("hosts may name a data and a WAL device; bad paths and one device for both are refused, kernel names warned about", () => {
    const ok = validate({}, [{ dataDevice: "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1", walDevice: "/dev/disk/by-path/pci-0000:00:04.0-scsi-0:0:1:0" }]);
    assert.deepEqual(ok.errors, []);
    assert.equal((ok.target as HostsTarget).hosts[0].dataDevice, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1");
    assert.equal((ok.target as HostsTarget).hosts[1].dataDevice, undefined);
    const bad = validate({}, [{ dataDevice: "disk1" }, { walDevice: "/dev/../etc/passwd" }, { dataDevice: "/dev/vdb", walDevice: "/dev/vdb" }]);
    assert.deepEqual(bad.errors, [
        `etcd-cluster:hosts[0].dataDevice: "disk1" is not allowed; expected the path of a block device under /dev, preferably a stable one such as /dev/disk/by-id/...`,
        `etcd-cluster:hosts[1].walDevice: "/dev/../etc/passwd" is not allowed; expected the path of a block device under /dev, preferably a stable one such as /dev/disk/by-id/...`,
        `etcd-cluster:hosts[2].walDevice: "/dev/vdb" is not allowed; it is also this host's dataDevice; data and WAL need devices of their own`,
    ]);
    assert.match(validate({}, [{ dataDevice: "/dev/sdb" }]).warnings.join("\n"), /hosts\[0\]\.dataDevice: \/dev\/sdb is a kernel name .* prefer a \/dev\/disk\/by-id\/ path/);
});

test("preflight: 10 ms and no waivers by default; a threshold and reasoned waivers are taken, as objects or as JSON text", () => {
    assert.deepEqual(validate({}).config!.preflight, { walFsyncP99Ms: 10, waive: {} });
    const set = { walFsyncP99Ms: 2.5, waive: { timeSync: "clocks follow the hypervisor (PTP)", freeSpace: "thin-provisioned, monitored" } };
    assert.deepEqual(validate({ preflight: set }).config!.preflight, set);
    assert.deepEqual(validate({ preflight: JSON.stringify(set) }).config!.preflight, set);
});

test("preflight: a bad threshold, an unknown check, a waiver without a reason and an unknown key are refused by name", () => {
    const { errors } = validate({ preflight: { walFsyncP99Ms: 0, waive: { disk: "x y z", fsync: "" }, treshold: 3 } });
    assert.deepEqual(errors, [
        `etcd-cluster:preflight.treshold: 3 is not allowed; unknown key "treshold"; allowed keys: walFsyncP99Ms, waive`,
    ]);
    assert.deepEqual(validate({ preflight: { walFsyncP99Ms: 0, waive: { disk: "x y z" } } }).errors, [
        `etcd-cluster:preflight.walFsyncP99Ms: 0 is not allowed; allowed: milliseconds above 0 and at most 1000 (etcd's guide asks for under 10)`,
        `etcd-cluster:preflight.waive.disk: "x y z" is not allowed; unknown key "disk"; allowed keys: fsync, timeSync, freeSpace`,
    ]);
    assert.deepEqual(validate({ preflight: { waive: { fsync: "" } } }).errors, [
        `etcd-cluster:preflight.waive.fsync: "" is not allowed; expected the reason the check is waived (3-200 characters on one line)`,
    ]);
    assert.match(validate({ preflight: "fast" }).errors[0], /^etcd-cluster:preflight: "fast" is not allowed; expected an object \(set it with `pulumi config set --path`\)/);
});
