// A fake etcd cluster for the remote scripts' decision logic: `etcdctl`, `systemctl` and `journalctl` stand-ins that
// read and change a small state directory, and a sandbox that runs a rendered script with every host path moved
// under a temporary root. No root, no etcd: fast enough to run on every change.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MemberPlan, planMember } from "../../components/plan";

export const VERSION = "3.5.30";

export interface FakeHost {
    root: string;
    state: string;
    members: MemberPlan[];
    /** Runs a rendered script as the host would; returns its exit status and output. */
    run(script: string): { status: number; stdout: string; stderr: string };
    /** Every etcdctl and systemctl call so far, one per line. */
    log(): string[];
    read(name: string): string;
    write(name: string, content: string): void;
    /** A path on the host, moved under the sandbox root. */
    hostPath(p: string): string;
}

// Loopback addresses: the survey probes members' client ports, and nothing may leave this machine.
const MOVED = ["/opt/etcd", "/etc/etcd", "/var/lib/etcd", "/etc/systemd/system"];

export function memberLine(m: MemberPlan, id: string, opts: { started?: boolean; learner?: boolean } = {}): string {
    const started = opts.started ?? true;
    return `${id}, ${started ? "started" : "unstarted"}, ${started ? m.name : ""}, ${m.peerUrl}, ${started ? m.clientUrl : ""}, ${opts.learner ?? false}`;
}

/** A host running member `self` (index into n planned members) of a fake cluster holding `lines`. */
export function fakeHost(n: number, self: number, lines: (members: MemberPlan[]) => string[]): FakeHost {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-fake-"));
    const state = path.join(root, "fake");
    const bin = path.join(root, "bin");
    const members = Array.from({ length: n }, (_, i) => planMember(`etcd-${i + 1}`, `127.0.0.${i + 11}`));
    for (const dir of [state, bin, path.join(root, "opt/etcd", `v${VERSION}`), path.join(root, "etc/systemd/system")]) fs.mkdirSync(dir, { recursive: true });
    const write = (name: string, content: string) => fs.writeFileSync(path.join(state, name), content);
    write("members", lines(members).map((l) => `${l}\n`).join(""));
    // Every member that has started has its etcd user (the auth step made it).
    write("users", lines(members).map((l) => l.split(", ")[2]).filter(Boolean).map((n) => `${n}\n`).join(""));
    write("cluster_id", "111");
    write("leader", "a1");
    write("version", VERSION);
    write("unit", "inactive");
    write("pid", "100");
    write("log", "");
    fs.copyFileSync(path.join(__dirname, "fake-etcdctl"), path.join(root, "opt/etcd", `v${VERSION}`, "etcdctl"));
    fs.copyFileSync(path.join(__dirname, "fake-systemctl"), path.join(bin, "systemctl"));
    fs.writeFileSync(path.join(bin, "journalctl"), "#!/bin/sh\necho 'etcd: listen tcp: address already in use'\n", { mode: 0o755 });
    const hostPath = (p: string) => {
        const prefix = MOVED.find((m) => p === m || p.startsWith(m));
        return prefix ? path.join(root, p) : p;
    };
    const me = members[self];
    return {
        root, state, members, hostPath,
        run(script: string) {
            let moved = script;
            for (const prefix of MOVED) moved = moved.split(prefix).join(path.join(root, prefix));
            const r = spawnSync("bash", ["-c", moved], {
                encoding: "utf8",
                env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STATE: state, FAKE_BOOTSTRAP: hostPath("/etc/etcd/bootstrap.env"), FAKE_DATA: hostPath("/var/lib/etcd"), FAKE_NAME: me.name, FAKE_PEER: me.peerUrl, FAKE_CLIENT: me.clientUrl },
            });
            return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
        },
        log: () => fs.readFileSync(path.join(state, "log"), "utf8").split("\n").filter(Boolean),
        read: (name: string) => fs.readFileSync(path.join(state, name), "utf8"),
        write,
    };
}
