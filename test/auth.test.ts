import { test } from "node:test";
import * as assert from "node:assert/strict";
import { authPlan, DEFAULT_CLIENT_PREFIX, gatewayPassword, parseClients, prefixRangeEnd } from "../components/clients";
import { validateConfig } from "../components/config";
import { byType, hostsConfig, named, runProgram, testHostKey } from "./support/program";

const hosts = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `10.0.0.${i}`, hostKey: testHostKey(i) }));
const clientsConfig = ["kube-apiserver", { name: "patroni", prefix: "/service/", gateway: true }];
const run = runProgram(hostsConfig(3, { clientCertificates: clientsConfig }));

function clientErrors(entries: unknown[]): string[] {
    const { errors } = validateConfig({ hosts, clientCertificates: entries }, { sshKeySet: true });
    return errors;
}

test("clientCertificates takes names or { name, prefix, gateway } objects; a name alone gets /registry/ over gRPC", () => {
    const { config, errors } = validateConfig({ hosts, clientCertificates: JSON.stringify(clientsConfig) }, { sshKeySet: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(config!.clientCertificates, [
        { name: "kube-apiserver", prefix: DEFAULT_CLIENT_PREFIX, gateway: false },
        { name: "patroni", prefix: "/service/", gateway: true },
    ]);
    assert.equal(DEFAULT_CLIENT_PREFIX, "/registry/");
});

test("bad client entries are refused, naming the key, the value and what is allowed", () => {
    const cases: Array<[unknown, string, RegExp]> = [
        ["root", "clientCertificates[0]", /admin certificate/],
        ["etcd-2", "clientCertificates[0]", /a member has this name/],
        [{ name: "pg", prefix: "" }, "clientCertificates[0].prefix", /starts and ends with '\/'/],
        [{ name: "pg", prefix: "/service" }, "clientCertificates[0].prefix", /starts and ends with '\/'/],
        [{ name: "pg", prefix: "/a b/" }, "clientCertificates[0].prefix", /letters, digits/],
        [{ name: "pg", gateway: "yes" }, "clientCertificates[0].gateway", /true or false/],
        [{ name: "pg", prefixx: "/x/" }, "clientCertificates[0]", /unknown field prefixx/],
        [{ prefix: "/x/" }, "clientCertificates[0].name", /DNS-1123 label/],
        [42, "clientCertificates[0]", /a name \(DNS-1123 label\) or \{ name, prefix\?, gateway\? \}/],
    ];
    for (const [entry, key, allowed] of cases) {
        const errors = clientErrors([entry]);
        assert.equal(errors.length, 1, `${JSON.stringify(entry)}: ${errors.join(" | ")}`);
        assert.ok(errors[0].startsWith(`etcd-cluster:${key}: `), errors[0]);
        assert.match(errors[0], allowed);
    }
    assert.match(clientErrors(["pg", { name: "pg", gateway: true }])[0], /^etcd-cluster:clientCertificates\[1\]\.name: "pg" .*unique/);
});

test("the auth plan: root and every member are root; each client may read and write its prefix only", () => {
    const clients = parseClients(clientsConfig, () => assert.fail("valid"));
    assert.deepEqual(authPlan(["etcd-1", "etcd-2"], clients), {
        roles: [
            { name: "etcd-cluster-member" },
            { name: "etcd-cluster-client-kube-apiserver", prefix: "/registry/" },
            { name: "etcd-cluster-client-patroni", prefix: "/service/" },
        ],
        users: [
            { name: "root", roles: ["root"], password: false },
            { name: "etcd-1", roles: ["root", "etcd-cluster-member"], password: false },
            { name: "etcd-2", roles: ["root", "etcd-cluster-member"], password: false },
            { name: "kube-apiserver", roles: ["etcd-cluster-client-kube-apiserver"], password: false },
            { name: "patroni", roles: ["etcd-cluster-client-patroni"], password: true },
        ],
    });
    assert.equal(prefixRangeEnd("/registry/"), "/registry0");
});

test("a gateway password is fixed by its seed key, differs per key and shows nothing of it", () => {
    const a = gatewayPassword("-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----\n");
    assert.equal(gatewayPassword("-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----\n"), a);
    assert.notEqual(gatewayPassword("-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n"), a);
    assert.match(a, /^[0-9a-f]{64}$/);
});

test("peer certificates come from a CA of their own, which is all the peer port trusts", () => {
    assert.equal(run.error, undefined);
    const peerCa = named(run, "etcd-peer-ca-cert").inputs;
    assert.equal(peerCa.isCaCertificate, true);
    assert.equal((peerCa.subject as Record<string, string>).commonName, "etcd-cluster dev peer CA");
    const pem = (name: string) => `-----BEGIN CERTIFICATE-----\nFAKE CERT ${name}\n-----END CERTIFICATE-----\n`;
    for (const cert of byType(run, "tls:index/locallySignedCert:LocallySignedCert")) {
        assert.equal(cert.inputs.caCertPem, pem(cert.name.endsWith("-peer-cert") ? "etcd-peer-ca-cert" : "etcd-ca-cert"), cert.name);
    }
    for (const member of ["etcd-1", "etcd-2", "etcd-3"]) {
        const configure = named(run, `${member}-configure`);
        const create = String(configure.inputs.create);
        assert.match(create, /^ETCD_PEER_TRUSTED_CA_FILE=\/etc\/etcd\/current\/pki\/peer-ca\.crt$/m);
        assert.match(create, /^ETCD_TRUSTED_CA_FILE=\/etc\/etcd\/current\/pki\/ca\.crt$/m);
        const files = new Map(String(configure.inputs.stdin).trim().split("\n").map((l) => l.split(" ")).map(([p, , , data]) => [p.replace(/^\/etc\/etcd\/releases\/[0-9a-f]{16}\//, ""), Buffer.from(data, "base64").toString()]));
        assert.equal(files.get("pki/peer-ca.crt"), pem("etcd-peer-ca-cert"));
        assert.equal(files.get("pki/ca.crt"), pem("etcd-ca-cert"));
    }
});

test("client certificates: CN = etcd user for gRPC clients, no CN for gateway clients; client use only", () => {
    const subject = (name: string) => named(run, `${name}-csr`).inputs.subject as Record<string, string>;
    assert.equal(subject("etcd-admin").commonName, "root");
    assert.equal(subject("etcd-client-kube-apiserver").commonName, "kube-apiserver");
    assert.equal(subject("etcd-client-patroni").commonName, undefined);
    assert.match(subject("etcd-client-patroni").organizationalUnit, /^dev rotation 0 renewal \d+$/, "rotated and renewed like every leaf");
    for (const name of ["etcd-admin", "etcd-client-kube-apiserver", "etcd-client-patroni"]) {
        assert.deepEqual([...(named(run, `${name}-cert`).inputs.allowedUses as string[])].sort(), ["client_auth", "digital_signature"]);
        assert.deepEqual(named(run, `${name}-csr`).inputs.dnsNames ?? [], [], `${name} names no host`);
    }
    // The password's seed key is not replaced by certRotation: a rotation must not lock the gateway client out.
    const rotated = runProgram(hostsConfig(3, { clientCertificates: clientsConfig, certRotation: "2" }));
    assert.deepEqual(named(rotated, "etcd-client-patroni-password").inputs, named(run, "etcd-client-patroni-password").inputs);
    assert.notDeepEqual(named(rotated, "etcd-client-patroni-csr").inputs, named(run, "etcd-client-patroni-csr").inputs);
});

test("the auth step runs after every member and before the gate; gateway passwords reach it on secret stdin only", () => {
    const auth = named(run, "etcd-auth");
    const gate = named(run, "etcd-health");
    for (const m of ["etcd-1", "etcd-2", "etcd-3"]) assert.ok(auth.started > named(run, `${m}-apply`).finished, `after ${m} applied`);
    assert.ok(gate.started > auth.finished, "the gate checks the cluster with authentication on");
    const password = (run.outputs.clientCertificates.value as Record<string, { password?: string }>).patroni.password!;
    assert.match(password, /^[0-9a-f]{64}$/);
    assert.ok(auth.secretInputs.includes("stdin"));
    assert.equal(auth.inputs.stdin, `patroni ${password}\n`);
    for (const c of byType(run, "command:remote:Command")) {
        for (const field of ["create", "update", "delete"]) assert.ok(!String(c.inputs[field] ?? "").includes(password), `${c.name}.${field} holds no password`);
    }
    const script = String(auth.inputs.create);
    for (const line of ["ensure_role 'etcd-cluster-client-kube-apiserver' '/registry/'", "ensure_user 'patroni' 1 'etcd-cluster-client-patroni'",
        "ensure_user 'etcd-3' 0 'root' 'etcd-cluster-member'", "ensure_user 'root' 0 'root'"]) {
        assert.ok(script.includes(line), `the auth step runs ${line}`);
    }
    assert.ok(script.indexOf("ensure_user 'patroni'") < script.indexOf("a auth enable"), "users and roles exist before authentication is enabled");
});

test("outputs: each client's certificate, key, user and prefix, and a gateway client's password, all secret", () => {
    const out = run.outputs.clientCertificates;
    assert.equal(out.secret, true);
    const clients = out.value as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(clients["kube-apiserver"]).sort(), ["certificate", "prefix", "privateKey", "user"]);
    assert.deepEqual([clients["kube-apiserver"].user, clients["kube-apiserver"].prefix], ["kube-apiserver", "/registry/"]);
    assert.deepEqual([clients.patroni.user, clients.patroni.prefix], ["patroni", "/service/"]);
});

test("peerCaMigration: trust-both keeps cluster-CA peer certificates and trusts both CAs; new-certificates switches issuers first", () => {
    const pem = (name: string) => `-----BEGIN CERTIFICATE-----\nFAKE CERT ${name}\n-----END CERTIFICATE-----\n`;
    for (const [step, issuer, trust] of [["trust-both", "etcd-ca-cert", pem("etcd-peer-ca-cert") + pem("etcd-ca-cert")],
        ["new-certificates", "etcd-peer-ca-cert", pem("etcd-peer-ca-cert") + pem("etcd-ca-cert")]] as const) {
        const r = runProgram(hostsConfig(3, { peerCaMigration: step }));
        assert.equal(named(r, "etcd-2-peer-cert").inputs.caCertPem, pem(issuer), step);
        const stdin = String(named(r, "etcd-2-configure").inputs.stdin).trim().split("\n").map((l) => l.split(" "));
        assert.equal(Buffer.from(stdin.find(([p]) => p.endsWith("/pki/peer-ca.crt"))![3], "base64").toString(), trust, step);
    }
    const { errors } = validateConfig({ hosts, peerCaMigration: "later" }, { sshKeySet: true });
    assert.match(errors.join("\n"), /^etcd-cluster:peerCaMigration: "later" is not allowed; allowed: none, trust-both, new-certificates/m);
});
