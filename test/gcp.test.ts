import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { validateConfig } from "../components/config";
import { SIZES, loadTiers } from "../sizing";
import { GcpTarget } from "../components/targets/gcp/config";
import { diskOptions, gceDevicePath } from "../components/targets/gcp/disks";
import { instanceOptions } from "../components/targets/gcp/instance";
import { firewallRules, gceName } from "../components/targets/gcp/network";
import { cloudValidation, byType, GCP_IMAGE, GCP_ZONES, gcpConfig, named, runProgram, TEST_KEY, testHostKey } from "./support/program";

const tiers = loadTiers();
const KMS = "projects/etcd-test-123456/locations/europe-west1/keyRings/etcd/cryptoKeys/disks";
const small = runProgram(gcpConfig(3));
const bastionHostKey = testHostKey(9);
const loginPublicKey = testHostKey(7);
const xlarge = runProgram(gcpConfig(5, {
    diskType: "pd-balanced", kmsKeyName: KMS, adminCidrs: [], clientTags: ["kube-apiserver"], loginPublicKey,
    bastion: { host: "bastion.example.com", hostKey: bastionHostKey, tag: "ops-bastion" },
}, { size: "xlarge", sshPrivateKey: TEST_KEY }));

const { validate, errorFor } = cloudValidation("gcp");

test("a GCP stack registers without error and makes no invoke; an invoke fails the run instead of being answered", () => {
    for (const run of [small, xlarge]) {
        assert.equal(run.error, undefined);
        assert.deepEqual(run.invokes, []);
    }
    const lookup = runProgram(gcpConfig(3), path.join(__dirname, "fixtures", "invoke-program.ts"));
    assert.deepEqual(lookup.invokes, ["gcp:compute/getImage:getImage"]);
    assert.match(String(lookup.error), /un-mocked invoke/);
});

test("per tier, the machine type and the disks' type and size are the table's (pd-ssd by default)", () => {
    for (const size of SIZES) {
        const { target, errors } = validate({}, { size });
        assert.deepEqual(errors, [], size);
        const t = target as GcpTarget;
        assert.equal(t.machineType, tiers[size].gcp.machineType, size);
        for (const d of [t.data, t.wal]) assert.deepEqual(d, { type: "pd-ssd", sizeGb: tiers[size].gcp.diskGB }, size);
    }
    for (const [run, size, type] of [[small, "small", "pd-ssd"], [xlarge, "xlarge", "pd-balanced"]] as const) {
        for (const instance of byType(run, "gcp:compute/instance:Instance")) assert.equal(instance.inputs.machineType, tiers[size].gcp.machineType);
        const disks = byType(run, "gcp:compute/disk:Disk");
        assert.equal(disks.length, 2 * byType(run, "gcp:compute/instance:Instance").length);
        for (const d of disks) assert.deepEqual([d.inputs.type, d.inputs.size], [type, tiers[size].gcp.diskGB], d.name);
    }
    assert.deepEqual([tiers.small.gcp.machineType, tiers.small.gcp.diskGB, tiers.xlarge.gcp.machineType, tiers.xlarge.gcp.diskGB], ["n1-standard-2", 50, "n1-standard-16", 500]);
});

test("hyperdisk-balanced provisions the tier's IOPS and throughput (never below its 3000 IOPS, 140 MiB/s) on a machine type that takes it", () => {
    const large = validate({ diskType: "hyperdisk-balanced", machineType: "c3-standard-8" }, { size: "large" });
    assert.deepEqual(large.errors, []);
    assert.deepEqual((large.target as GcpTarget).wal, { type: "hyperdisk-balanced", sizeGb: 250, provisionedIops: 7500, provisionedThroughput: 140 });
    const xl = validate({ diskType: "hyperdisk-balanced", machineType: "c3-standard-22", walDiskGB: 600 }, { size: "xlarge" });
    assert.deepEqual((xl.target as GcpTarget).wal, { type: "hyperdisk-balanced", sizeGb: 600, provisionedIops: 15000, provisionedThroughput: 250 });
    assert.deepEqual((xl.target as GcpTarget).data.sizeGb, 500);
});

test("members are spread across zones: none shares a zone while one is unused; each disk lives in its member's zone", () => {
    for (let i = 1; i <= 5; i++) {
        const zone = GCP_ZONES[(i - 1) % 3];
        assert.equal(named(xlarge, `etcd-${i}-instance`).inputs.zone, zone);
        for (const role of ["data", "wal"]) assert.equal(named(xlarge, `etcd-${i}-${role}`).inputs.zone, zone);
    }
    assert.deepEqual(byType(small, "gcp:compute/instance:Instance").map((i) => i.inputs.zone), GCP_ZONES);
});

test("firewall rules: peers from members only, clients from members and configured clients, SSH from admins or the bastion, egress only as needed", () => {
    const rules = (run: typeof small) => Object.fromEntries(byType(run, "gcp:compute/firewall:Firewall").map((f) => {
        const { description, project, network, ...rule } = f.inputs;
        assert.deepEqual([project, network], ["etcd-test-123456", "prod-vpc"], f.name);
        assert.equal(typeof description, "string");
        return [f.name, rule];
    }));
    const tag = ["etcd-dev-member"];
    const ingress = (ports: string, from: Record<string, string[]>) => ({ direction: "INGRESS", priority: 1000, allows: [{ protocol: "tcp", ports: [ports] }], ...from, targetTags: tag });
    const egress = (ports: string, to: string[]) => ({ direction: "EGRESS", priority: 1000, allows: [{ protocol: "tcp", ports: [ports] }], destinationRanges: to, targetTags: tag });
    const denyEgress = { direction: "EGRESS", priority: 65000, denies: [{ protocol: "all" }], destinationRanges: ["0.0.0.0/0"], targetTags: tag };
    assert.deepEqual(rules(small), {
        "etcd-dev-peers": ingress("2380", { sourceTags: tag }),
        "etcd-dev-clients-members": ingress("2379", { sourceTags: tag }),
        "etcd-dev-clients-networks": ingress("2379", { sourceRanges: ["10.20.0.0/16"] }),
        "etcd-dev-ssh-admin": ingress("22", { sourceRanges: ["10.99.0.0/24"] }),
        "etcd-dev-to-members": egress("2379-2380", ["10.2.0.11/32", "10.2.0.12/32", "10.2.0.13/32"]),
        "etcd-dev-out-443": egress("443", ["0.0.0.0/0"]),
        "etcd-dev-deny-egress": denyEgress,
    });
    assert.deepEqual(rules(xlarge), {
        "etcd-dev-peers": ingress("2380", { sourceTags: tag }),
        "etcd-dev-clients-members": ingress("2379", { sourceTags: tag }),
        "etcd-dev-clients-networks": ingress("2379", { sourceRanges: ["10.20.0.0/16"] }),
        "etcd-dev-clients-tags": ingress("2379", { sourceTags: ["kube-apiserver"] }),
        "etcd-dev-ssh-bastion": ingress("22", { sourceTags: ["ops-bastion"] }),
        "etcd-dev-to-members": egress("2379-2380", [11, 12, 13, 14, 15].map((n) => `10.2.0.${n}/32`)),
        "etcd-dev-out-443": egress("443", ["0.0.0.0/0"]),
        "etcd-dev-deny-egress": denyEgress,
    });
    for (const f of [...byType(small, "gcp:compute/firewall:Firewall"), ...byType(xlarge, "gcp:compute/firewall:Firewall")]) {
        const ports = ((f.inputs.allows ?? []) as Array<{ ports: string[] }>).flatMap((a) => a.ports);
        if (f.inputs.direction === "INGRESS" && ports.some((p) => p === "2379" || p === "2380")) {
            assert.ok(!((f.inputs.sourceRanges ?? []) as string[]).includes("0.0.0.0/0"), `${f.name} never opens etcd to the internet`);
        }
    }
    for (const i of byType(small, "gcp:compute/instance:Instance")) assert.deepEqual(i.inputs.tags, tag);
    const offline = firewallRules({ clientCidrs: [], clientTags: [], adminCidrs: ["10.0.0.0/8"] }, "t", [], []);
    assert.deepEqual(offline.map((r) => r.name), ["peers", "clients-members", "ssh-admin", "to-members", "deny-egress"], "an offline install opens no egress but to members");
});

test("each member keeps a reserved internal address: the instance takes it, and certificates and endpoints carry it", () => {
    for (let i = 1; i <= 3; i++) {
        const address = named(small, `etcd-${i}-address`);
        assert.deepEqual([address.inputs.addressType, address.inputs.region, address.inputs.subnetwork], ["INTERNAL", "europe-west1", "prod-europe-west1"]);
        const instance = named(small, `etcd-${i}-instance`);
        assert.deepEqual(instance.inputs.networkInterfaces, [{ subnetwork: "prod-europe-west1", networkIp: `10.2.0.${10 + i}` }], "no access config: no external address");
        assert.deepEqual((instance.inputs.bootDisk as Record<string, unknown>).initializeParams, { image: GCP_IMAGE, type: "pd-balanced" });
        assert.equal((named(small, `etcd-${i}-server-csr`).inputs.ipAddresses as string[])[0], `10.2.0.${10 + i}`);
    }
    assert.deepEqual(small.outputs.clientEndpoints.value, ["https://10.2.0.11:2379", "https://10.2.0.12:2379", "https://10.2.0.13:2379"]);
});

test("disks are separate, protected resources attached by selfLink under a device name, so replacing an instance never deletes them", () => {
    assert.equal(diskOptions().protect, true);
    assert.equal(diskOptions().deleteBeforeReplace, undefined);
    assert.equal(instanceOptions([]).deleteBeforeReplace, true, "the address and read-write disks can belong to one instance at a time");
    for (const d of byType(small, "gcp:compute/disk:Disk")) {
        assert.equal(d.inputs.diskEncryptionKey, undefined);
        assert.ok(!JSON.stringify(d.inputs).includes("instance"), `${d.name} takes nothing from an instance`);
    }
    for (const d of byType(xlarge, "gcp:compute/disk:Disk")) assert.deepEqual(d.inputs.diskEncryptionKey, { kmsKeySelfLink: KMS });
    assert.equal((named(xlarge, "etcd-1-instance").inputs.bootDisk as Record<string, unknown>).kmsKeySelfLink, KMS);
    for (let i = 1; i <= 3; i++) {
        const instance = named(small, `etcd-${i}-instance`);
        assert.deepEqual(instance.inputs.attachedDisks, ["data", "wal"].map((role) => ({
            source: `https://www.googleapis.com/compute/v1/projects/fake/zones/fake/disks/etcd-${i}-${role}`, deviceName: `etcd-${role}`, mode: "READ_WRITE",
        })));
        assert.equal((instance.inputs.bootDisk as Record<string, unknown>).autoDelete, true, "only the boot disk goes with the instance");
        assert.equal(instance.inputs.allowStoppingForUpdate, true);
        const disks = named(small, `etcd-${i}-disks`).inputs as Record<string, unknown>;
        assert.ok(JSON.stringify(disks).includes("/dev/disk/by-id/google-etcd-data") && JSON.stringify(disks).includes("/dev/disk/by-id/google-etcd-wal"), "the member layer formats and mounts the attached disks");
    }
    assert.equal(gceDevicePath("etcd-wal"), "/dev/disk/by-id/google-etcd-wal");
});

test("SSH: a program-made host key and a dedicated login user in the user-data cloud-config, verified from the first connection", () => {
    assert.equal(named(small, "etcd-dev-login-key").inputs.algorithm, "ED25519");
    for (let i = 1; i <= 3; i++) {
        assert.equal(named(small, `etcd-${i}-host-key`).inputs.algorithm, "ED25519");
        const instance = named(small, `etcd-${i}-instance`);
        assert.ok(instance.secretInputs.includes("metadata"), "the metadata holds the host's private key");
        const metadata = instance.inputs.metadata as Record<string, string>;
        assert.deepEqual([metadata["block-project-ssh-keys"], metadata["enable-oslogin"]], ["TRUE", "FALSE"]);
        assert.match(metadata["user-data"], /^#cloud-config\n/);
        const cloudConfig = yaml.load(metadata["user-data"]) as Record<string, unknown>;
        assert.deepEqual(cloudConfig.ssh_keys, {
            ed25519_private: `-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE KEY etcd-${i}-host-key\n-----END OPENSSH PRIVATE KEY-----\n`,
            ed25519_public: `ssh-ed25519 FAKEPUBLICetcd${i}hostkey`,
        });
        assert.equal(cloudConfig.ssh_deletekeys, true);
        assert.deepEqual(cloudConfig.users, [{
            name: "etcd-admin", gecos: "etcd cluster administration", shell: "/bin/bash", lock_passwd: true,
            sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: ["ssh-ed25519 FAKEPUBLICetcddevloginkey"],
        }]);
        assert.deepEqual(cloudConfig.write_files, [{ path: "/etc/default/instance_configs.cfg", permissions: "0644", content: "[InstanceSetup]\nset_host_keys = false\n" }]);
        for (const step of ["install", "configure", "apply"]) {
            const c = named(small, `etcd-${i}-${step}`).inputs.connection as Record<string, unknown>;
            assert.deepEqual([c.host, c.user, c.hostKey, c.dialErrorLimit, c.perDialTimeout], [`10.2.0.${10 + i}`, "etcd-admin", `ssh-ed25519 FAKEPUBLICetcd${i}hostkey`, 60, 15]);
            assert.match(String(c.privateKey), /FAKE KEY etcd-dev-login-key/);
            assert.equal(c.proxy, undefined);
        }
    }
    assert.equal(byType(xlarge, "tls:index/privateKey:PrivateKey").filter((k) => k.name.includes("login")).length, 0, "a user-supplied login key is used as is");
    const userData = yaml.load((named(xlarge, "etcd-4-instance").inputs.metadata as Record<string, string>)["user-data"]) as { users: Array<{ ssh_authorized_keys: string[] }> };
    assert.deepEqual(userData.users[0].ssh_authorized_keys, [loginPublicKey]);
    const c = named(xlarge, "etcd-4-configure").inputs.connection as Record<string, unknown>;
    assert.equal(c.privateKey, TEST_KEY);
    assert.deepEqual(c.proxy, { host: "bastion.example.com", port: 22, user: "admin", hostKey: bastionHostKey, privateKey: TEST_KEY, dialErrorLimit: 60, perDialTimeout: 15 });
});

test("instances change one member at a time: each waits for the previous member's apply step, and a new instance or machine type runs every step again", () => {
    for (const run of [small, xlarge]) {
        const n = byType(run, "gcp:compute/instance:Instance").length;
        for (let i = 2; i <= n; i++) {
            assert.ok(named(run, `etcd-${i}-instance`).started > named(run, `etcd-${i - 1}-apply`).finished, `etcd-${i}'s instance waits for etcd-${i - 1} to be applied`);
        }
        for (let i = 1; i <= n; i++) {
            const instance = named(run, `etcd-${i}-instance`);
            for (const step of ["install", "configure", "apply"]) {
                const s = named(run, `etcd-${i}-${step}`);
                assert.ok(s.started > instance.finished, `${s.name} runs on the instance once it exists`);
                const [trigger] = s.inputs.triggers as string[];
                assert.match(trigger, new RegExp(`^\\d+ ${instance.inputs.machineType}$`), "the instance's server-assigned id and its machine type");
            }
        }
    }
});

test("bad GCP settings are refused before any resource, each naming the key, the value and what is allowed", () => {
    errorFor({ project: undefined }, "gcp.project", "is not set", /the id of the Google Cloud project/);
    errorFor({ project: "My_Project" }, "gcp.project", "My_Project", /expected a project id/);
    errorFor({ zones: ["europe-west1-b", "us-central1-a"] }, "gcp.zones[1]", "us-central1-a", /not a zone of europe-west1/);
    errorFor({ zones: ["europe-west1-b", "europe-west1-b"] }, "gcp.zones[1]", "europe-west1-b", /each zone is listed once/);
    errorFor({ zones: [] }, "gcp.zones", "is not set", /the zones of the region/);
    errorFor({ machineType: "n2-standard-2" }, "gcp.machineType", "n2-standard-2", /smaller than the medium tier \(2 vCPUs < 4, 8 GiB memory < 15 GiB\)/, { size: "medium" });
    errorFor({ machineType: "n1-standard-1" }, "gcp.machineType", "n1-standard-1", /smaller than the small tier \(1 vCPUs < 2, 3.75 GiB memory < 7.5 GiB\)/);
    errorFor({ machineType: "f1-micro" }, "gcp.machineType", "f1-micro", /allowed: n1-standard-1, .*c3-standard-4/);
    errorFor({ diskType: "hyperdisk-balanced" }, "gcp.diskType", "hyperdisk-balanced", /n1-standard-2 does not take hyperdisk-balanced disks; allowed with it: pd-ssd, pd-balanced/);
    errorFor({ diskType: "pd-standard" }, "gcp.diskType", "pd-standard", /allowed: pd-ssd, pd-balanced, hyperdisk-balanced/);
    errorFor({ walDiskGB: 20 }, "gcp.walDiskGB", "20", /below the small tier's 50 GB/);
    errorFor({ image: "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64" }, "gcp.image", "family", /not an image family/);
    errorFor({ image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64" }, "gcp.image", "ubuntu-os-cloud", /never floats to a newest image/);
    errorFor({ subnetwork: "projects/etcd-test-123456/regions/us-central1/subnetworks/x" }, "gcp.subnetwork", "us-central1", /a subnetwork of europe-west1/);
    errorFor({ clientCidrs: ["0.0.0.0/0"] }, "gcp.clientCidrs[0]", "0.0.0.0/0", /never opened to the whole internet/);
    errorFor({ clientCidrs: ["2001:db8::/48"] }, "gcp.clientCidrs[0]", "2001:db8::/48", /IPv4 internal addresses only/);
    errorFor({ adminCidrs: [] }, "gcp.adminCidrs", "is not set", /or through a bastion/);
    errorFor({ kmsKeyName: `${KMS}/cryptoKeyVersions/1` }, "gcp.kmsKeyName", "cryptoKeyVersions", /no key version/);
    errorFor({ user: "root" }, "gcp.user", "root", /other than root/);
    errorFor({ loginPublicKey: testHostKey(5) }, "sshPrivateKey", "is not set", /private half of gcp.loginPublicKey/);
    errorFor({ bastion: { host: "b.example.com", hostKey: bastionHostKey, tag: "Ops" } }, "gcp.bastion.tag", "Ops", /network tag/);
    errorFor({ projcet: "x" }, "gcp.projcet", "x", /unknown key "projcet"/);
    const run = runProgram(gcpConfig(3, { project: undefined, zones: ["europe-west1-b", "europe-west9-a"], machineType: "n1-standard-4" }, { size: "large" }));
    assert.match(String(run.error), /invalid stack configuration \(3 problems\)/);
    assert.match(String(run.error), /etcd-cluster:gcp.project: is not set/);
    assert.match(String(run.error), /etcd-cluster:gcp.zones\[1\]: "europe-west9-a" is not allowed; not a zone of europe-west1/);
    assert.match(String(run.error), /etcd-cluster:gcp.machineType: "n1-standard-4" is not allowed; smaller than the large tier/);
    assert.deepEqual(run.resources, [], "nothing is created on bad input");
});

test("a machine type override with at least the tier's vCPUs and memory is taken; pd-balanced is taken with a warning", () => {
    const { target, errors } = validate({ machineType: "n2-standard-4" }, { size: "medium" });
    assert.deepEqual(errors, []);
    assert.equal((target as GcpTarget).machineType, "n2-standard-4");
    const balanced = validate({ diskType: "pd-balanced" });
    assert.deepEqual(balanced.errors, []);
    assert.match(balanced.warnings.join("\n"), /gcp.diskType: pd-balanced gives fewer IOPS per GB/);
});

test("resource names and the member tag are valid Compute Engine names whatever the stack is called", () => {
    assert.equal(gceName("etcd-Prod_EU.1"), "etcd-prod-eu-1");
    assert.equal(gceName(`etcd-${"x".repeat(80)}`).length, 55);
    assert.equal(gceName("9-lives"), "lives");
});

test("the example GCP stack file is a valid configuration", () => {
    const doc = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.gcp-example.yaml"), "utf8")) as { config: Record<string, unknown> };
    const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^etcd-cluster:/, ""), v]));
    const { errors, target } = validateConfig(raw, { sshKeySet: false });
    assert.deepEqual(errors, []);
    assert.equal(target?.kind, "gcp");
});
