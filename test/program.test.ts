import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "path";
import { byType, hostsConfig, named, runProgram, TEST_KEY, testHostKey } from "./support/program";
import { certificateRenewal } from "../components/renewal";

const three = runProgram(hostsConfig(3, { clientCertificates: ["kube-apiserver"], extraSans: ["etcd.example.com", "203.0.113.7"] }));

test("the program registers without error", () => {
    assert.equal(three.error, undefined);
});

test("every member has a server certificate naming only itself, loopback and the extras, and a peer certificate without the extras", () => {
    for (const [i, name] of ["etcd-1", "etcd-2", "etcd-3"].entries()) {
        for (const kind of ["server", "peer"]) {
            const csr = named(three, `${name}-${kind}-csr`).inputs;
            const extras = kind === "server";
            assert.deepEqual(csr.dnsNames, [name, "localhost", ...(extras ? ["etcd.example.com"] : [])]);
            assert.deepEqual(csr.ipAddresses, [`192.0.2.${11 + i}`, "127.0.0.1", "::1", ...(extras ? ["203.0.113.7"] : [])]);
            assert.equal((csr.subject as Record<string, string>).commonName, name);
            const cert = named(three, `${name}-${kind}-cert`).inputs;
            assert.deepEqual([...(cert.allowedUses as string[])].sort(), ["client_auth", "digital_signature", "server_auth"], "an ECDSA key cannot encipher: no key_encipherment");
            assert.equal(cert.validityPeriodHours, 365 * 24);
        }
    }
});

test("the CA is a CA for this cluster alone; admin and consumer certificates are clients only", () => {
    const ca = named(three, "etcd-ca-cert").inputs;
    assert.equal(ca.isCaCertificate, true);
    assert.deepEqual([...(ca.allowedUses as string[])].sort(), ["cert_signing", "crl_signing", "digital_signature"]);
    assert.match((ca.subject as Record<string, string>).commonName, /etcd-cluster dev CA/);
    for (const [name, cn] of [["etcd-admin", "root"], ["etcd-client-kube-apiserver", "kube-apiserver"]]) {
        assert.equal((named(three, `${name}-csr`).inputs.subject as Record<string, string>).commonName, cn);
        assert.deepEqual([...(named(three, `${name}-cert`).inputs.allowedUses as string[])].sort(), ["client_auth", "digital_signature"]);
    }
    for (const cert of byType(three, "tls:index/locallySignedCert:LocallySignedCert")) {
        const ca = cert.name.endsWith("-peer-cert") ? "etcd-peer-ca-cert" : "etcd-ca-cert";
        assert.ok(!cert.inputs.isCaCertificate && !(cert.inputs.allowedUses as string[]).includes("cert_signing"), `${cert.name} can sign nothing`);
        assert.equal(cert.inputs.caCertPem, `-----BEGIN CERTIFICATE-----\nFAKE CERT ${ca}\n-----END CERTIFICATE-----\n`, `${cert.name} is signed by ${ca}`);
    }
});

test("RSA leaves keep key_encipherment (RSA key exchange needs it)", () => {
    const rsa = runProgram(hostsConfig(3, { keyAlgorithm: "RSA-2048" }));
    for (const name of ["etcd-1-server-cert", "etcd-1-peer-cert", "etcd-admin-cert"]) {
        assert.ok((named(rsa, name).inputs.allowedUses as string[]).includes("key_encipherment"), name);
    }
});

test("keys are ECDSA P-256 by default (the provider's P224 default is refused by etcd)", () => {
    const keys = byType(three, "tls:index/privateKey:PrivateKey");
    assert.equal(keys.length, 2 + 3 * 2 + 1 + 1);
    for (const k of keys) assert.deepEqual([k.inputs.algorithm, k.inputs.ecdsaCurve], ["ECDSA", "P256"], k.name);
});

test("adding members re-issues no existing member's certificate; a rotation re-issues all of them", () => {
    const five = runProgram(hostsConfig(5, { clientCertificates: ["kube-apiserver"], extraSans: ["etcd.example.com", "203.0.113.7"] }));
    const rotated = runProgram(hostsConfig(3, { clientCertificates: ["kube-apiserver"], extraSans: ["etcd.example.com", "203.0.113.7"], certRotation: "2027-01" }));
    for (const name of ["etcd-1", "etcd-2", "etcd-3"]) {
        for (const kind of ["server", "peer"]) {
            for (const suffix of ["key", "csr", "cert"]) {
                assert.deepEqual(named(five, `${name}-${kind}-${suffix}`).inputs, named(three, `${name}-${kind}-${suffix}`).inputs, `${name}-${kind}-${suffix}`);
            }
            const before = named(three, `${name}-${kind}-csr`).inputs.subject as Record<string, string>;
            const after = named(rotated, `${name}-${kind}-csr`).inputs.subject as Record<string, string>;
            assert.notDeepEqual(after, before, `${name}-${kind} is re-issued on rotation`);
            assert.equal(after.organizationalUnit, `dev rotation 2027-01 renewal ${certificateRenewal(Date.now(), 365, 30).generation}`);
        }
    }
});

test("no secret appears in any command string; keys travel on stdin, which is secret", () => {
    const commands = byType(three, "command:remote:Command");
    assert.equal(commands.length, 3 * 7 + 4);
    for (const c of commands) {
        for (const field of ["create", "update", "delete"]) {
            const text = String(c.inputs[field] ?? "");
            assert.doesNotMatch(text, /PRIVATE KEY|FAKE KEY|TESTKEYMATERIAL/, `${c.name}.${field}`);
        }
        assert.ok(c.secretInputs.includes("connection"), `${c.name}: the connection holds the SSH key and must be secret`);
        assert.equal((c.inputs.connection as Record<string, unknown>).privateKey, TEST_KEY);
    }
});

test("every connection to a host verifies that host's own key", () => {
    for (const c of [...byType(three, "command:remote:Command"), ...byType(three, "command:remote:CopyToRemote")]) {
        const connection = c.inputs.connection as Record<string, unknown>;
        const member = Number(/^192\.0\.2\.1(\d)$/.exec(String(connection.host))?.[1]);
        assert.equal(connection.hostKey, testHostKey(member), `${c.name} verifies ${connection.host}'s host key`);
    }
    for (const name of ["etcd-1", "etcd-2", "etcd-3"]) {
        const configure = named(three, `${name}-configure`);
        assert.ok(configure.secretInputs.includes("stdin"), `${name}-configure stdin must be secret`);
        const files = String(configure.inputs.stdin).trim().split("\n").map((l) => l.split(" "));
        const keyLine = files.find(([p]) => /^\/etc\/etcd\/releases\/[0-9a-f]{16}\/pki\/server\.key$/.test(p))!;
        assert.deepEqual(keyLine.slice(1, 3), ["600", "etcd:etcd"]);
        assert.match(Buffer.from(keyLine[3], "base64").toString(), new RegExp(`FAKE KEY ${name}-server-key`));
    }
});

test("outputs: endpoints, etcdctl and kube-apiserver settings; private keys are secret", () => {
    const o = three.outputs;
    const endpoints = ["https://192.0.2.11:2379", "https://192.0.2.12:2379", "https://192.0.2.13:2379"];
    assert.deepEqual(o.clientEndpoints.value, endpoints);
    assert.deepEqual(o.peerUrls.value, endpoints.map((e) => e.replace("2379", "2380")));
    assert.deepEqual(o.memberNames.value, ["etcd-1", "etcd-2", "etcd-3"]);
    assert.match(String(o.etcdctlEnvironment.value), new RegExp(`ETCDCTL_ENDPOINTS=${endpoints.join(",")}\n.*ETCDCTL_CACERT=.*\n.*ETCDCTL_CERT=.*\n.*ETCDCTL_KEY=`));
    assert.deepEqual((o.kubeApiserverFlags.value as string[]).map((f) => f.split("=")[0]), ["--etcd-servers", "--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"]);
    assert.equal(o.adminPrivateKey.secret, true);
    assert.equal(o.clientCertificates.secret, true);
    assert.match(JSON.stringify(o.clientCertificates.value), /kube-apiserver.*privateKey/);
    assert.equal(o.caCertificate.secret, false);
});

test("members apply one after another; installs and bootstrap starts do not wait on each other", () => {
    const step = (name: string) => named(three, name);
    for (const [prev, next] of [["etcd-1", "etcd-2"], ["etcd-2", "etcd-3"]]) {
        assert.ok(step(`${next}-configure`).started > step(`${prev}-apply`).finished, `${next} changes only after ${prev} has applied`);
    }
    const installs = ["etcd-1", "etcd-2", "etcd-3"].map((n) => step(`${n}-install`));
    const firstApplied = step("etcd-1-apply").finished;
    for (const i of installs) assert.ok(i.started < firstApplied, `${i.name} runs in parallel, before any member applies`);
    const survey = step("etcd-membership-survey");
    assert.ok(survey.started > step("etcd-1-configure").finished && survey.finished < step("etcd-1-apply").started, "the survey runs before any member applies");
    const reconcile = step("etcd-membership");
    assert.ok(["etcd-1", "etcd-2", "etcd-3"].every((n) => reconcile.started > step(`${n}-apply`).finished), "members are removed only after every member applied");
    assert.ok(step("etcd-health").started > reconcile.finished, "the health gate runs last");
    // At bootstrap each apply step starts etcd without blocking, so the chain costs nothing.
    const apply = String(step("etcd-2-apply").inputs.create);
    const bootstrap = apply.slice(apply.indexOf("  write_bootstrap new"), apply.indexOf("\n}\n", apply.indexOf("  write_bootstrap new")));
    assert.match(bootstrap, /systemctl start --no-block etcd\.service[\s\S]*exit 0/);
    assert.doesNotMatch(bootstrap, /wait_for|cluster_problems|run_etcd/);
});

test("a host leaving the configuration is retired by its retire step's delete, which a rebuilt machine (new identity) never triggers", () => {
    const retire = named(three, "etcd-2-retire");
    assert.equal(retire.inputs.triggers, undefined, "no replacement when the machine is rebuilt or replaced under the same name");
    const script = String(retire.inputs.delete);
    assert.match(script, /systemctl disable --now --quiet etcd\.service/);
    assert.match(script, /mv -- "\$dir" "\$dir\.removed-\$stamp"/);
    assert.doesNotMatch(script, /rm -rf/, "data is never deleted");
});

test("resource names are stable and say what they are", () => {
    const names = three.resources.filter((r) => r.type.startsWith("command:")).map((r) => r.name).sort();
    assert.deepEqual(names, ["etcd-1-apply", "etcd-1-checks", "etcd-1-configure", "etcd-1-install", "etcd-1-preflight", "etcd-1-retire", "etcd-1-trust",
        "etcd-2-apply", "etcd-2-checks", "etcd-2-configure", "etcd-2-install", "etcd-2-preflight", "etcd-2-retire", "etcd-2-trust",
        "etcd-3-apply", "etcd-3-checks", "etcd-3-configure", "etcd-3-install", "etcd-3-preflight", "etcd-3-retire", "etcd-3-trust", "etcd-auth", "etcd-health", "etcd-membership", "etcd-membership-survey"]);
});

test("a host's data and WAL devices are mounted before the guards judge it, then checked, before etcd is configured there; hosts without devices get no disk step", () => {
    const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `192.0.2.${10 + i}`, hostKey: testHostKey(i), ...(i < 3 ? { dataDevice: "/dev/disk/by-id/virtio-data", walDevice: "/dev/disk/by-id/virtio-wal" } : {}) }));
    const run = runProgram(hostsConfig(3, { hosts, preflight: { walFsyncP99Ms: 5, waive: { timeSync: "the lab has no time server" } } }));
    assert.equal(run.error, undefined);
    for (const name of ["etcd-1", "etcd-2"]) {
        const disks = named(run, `${name}-disks`);
        const script = String(disks.inputs.create);
        assert.match(script, /devices=\('\/dev\/disk\/by-id\/virtio-data' '\/dev\/disk\/by-id\/virtio-wal'\)/);
        assert.match(script, /dirs=\('\/var\/lib\/etcd' '\/var\/lib\/etcd-wal'\)/);
        assert.ok(named(run, `${name}-preflight`).started > disks.finished, `${name}: the guards see the data on a kept disk (a rebuilt host is an existing member)`);
        const preflight = named(run, `${name}-checks`);
        assert.ok(preflight.started > disks.finished, `${name}: preflight measures the mounted disks`);
        assert.ok(named(run, `${name}-configure`).started > preflight.finished, `${name}: configured only after its checks`);
        assert.match(String(preflight.inputs.create), /threshold_ms=5\n[\s\S]*waive_time=1\n/);
    }
    assert.throws(() => named(run, "etcd-3-disks"), /no resource named etcd-3-disks/);
    assert.ok(named(run, "etcd-1-checks").started < named(run, "etcd-1-apply").finished && named(run, "etcd-3-checks").started < named(run, "etcd-1-apply").finished,
        "preflight checks run on every member at once, not in the apply chain");
    const report = (run.outputs.preflight.value as Record<string, Record<string, unknown>>)["etcd-1"];
    assert.deepEqual([report.walFsyncP99MsThreshold, report.dataRequiredBytes, report.waived], [5, 2.5 * 1024 ** 3, { timeSync: "the lab has no time server" }]);
});

test("machines whose addresses are known only at deploy time (a cloud's) get certificates, configuration and outputs with those addresses", () => {
    const run = runProgram(hostsConfig(3), path.join(__dirname, "fixtures", "deploy-time-addresses-program.ts"));
    assert.equal(run.error, undefined);
    const ips = ["10.1.0.11", "10.1.0.12", "10.1.0.13"];
    assert.deepEqual(run.outputs.clientEndpoints.value, ips.map((ip) => `https://${ip}:2379`));
    for (const [i, name] of ["etcd-1", "etcd-2", "etcd-3"].entries()) {
        const nic = named(run, `${name}-nic`);
        const csr = named(run, `${name}-server-csr`);
        assert.ok(csr.started > nic.finished, `${name}'s certificate is requested only once its interface exists`);
        assert.equal((csr.inputs.ipAddresses as string[])[0], ips[i]);
        const configure = named(run, `${name}-configure`);
        assert.ok(configure.started > nic.finished, `${name} is configured only once its machine exists`);
        assert.match(configure.inputs.create as string, new RegExp(`ETCD_LISTEN_PEER_URLS=https://${ips[i].replace(/\./g, "\\.")}:2380`));
        assert.match(named(run, `${name}-apply`).inputs.create as string, /write_bootstrap new 'etcd-1=https:\/\/10\.1\.0\.11:2380,etcd-2=https:\/\/10\.1\.0\.12:2380,etcd-3=https:\/\/10\.1\.0\.13:2380'/);
        assert.equal((configure.inputs.connection as Record<string, unknown>).host, ips[i]);
    }
});

test("certificates renew by generation: keys and certificates carry it, and the next renewal date is an output", () => {
    const { generation, renewsAfter } = certificateRenewal(Date.now(), 365, 30);
    assert.equal(three.outputs.certificatesRenewAfter.value, renewsAfter.toISOString());
    for (const name of ["etcd-1-server", "etcd-2-peer", "etcd-admin", "etcd-client-kube-apiserver"]) {
        assert.equal((named(three, `${name}-csr`).inputs.subject as Record<string, string>).organizationalUnit, `dev rotation 0 renewal ${generation}`, name);
    }
});

/** Three hosts, the first with DNS names, the gate on the third. */
const variant = runProgram(hostsConfig(3, {
    healthGateMember: "etcd-3",
    hosts: JSON.parse(hostsConfig(3).hosts).map((h: Record<string, unknown>, i: number) => i === 0 ? { ...h, dnsNames: ["etcd-1.example.com"] } : h),
}));

test("the health gate runs from the first member, or from any member named in healthGateMember", () => {
    const host = (run: typeof three) => (named(run, "etcd-health").inputs.connection as { host: string }).host;
    assert.equal(host(three), "192.0.2.11");
    assert.equal(host(variant), "192.0.2.13");
});

test("a host's DNS names go into its server certificate and advertised client URLs, not its peer certificate; outputs stay on addresses", () => {
    assert.equal(variant.error, undefined);
    assert.deepEqual(named(variant, "etcd-1-server-csr").inputs.dnsNames, ["etcd-1", "localhost", "etcd-1.example.com"]);
    assert.deepEqual(named(variant, "etcd-1-peer-csr").inputs.dnsNames, ["etcd-1", "localhost"]);
    assert.deepEqual(named(variant, "etcd-2-server-csr").inputs.dnsNames, ["etcd-2", "localhost"], "names belong to their own member");
    assert.match(named(variant, "etcd-1-configure").inputs.create as string, /ETCD_ADVERTISE_CLIENT_URLS=https:\/\/192\.0\.2\.11:2379,https:\/\/etcd-1\.example\.com:2379\n/);
    assert.match(named(variant, "etcd-1-configure").inputs.create as string, /ETCD_LISTEN_CLIENT_URLS=https:\/\/192\.0\.2\.11:2379,https:\/\/127\.0\.0\.1:2379\n/);
    assert.deepEqual(variant.outputs.clientEndpoints.value, ["https://192.0.2.11:2379", "https://192.0.2.12:2379", "https://192.0.2.13:2379"]);
});
