import { deploy } from "/work/wt/membership/test/lab/deploy";
import { readState } from "/work/wt/membership/test/lab/hosts-state";
import { labDir } from "/work/wt/membership/test/lab/lab-id";
const n = Number(process.argv[2] ?? 3);
const s = readState(labDir())!;
const lab = { netns: s.netns, hosts: s.hosts.slice(0, n).map((h) => ({ name: h.name, address: h.address })), sshKey: s.sshKey, sshUser: "root" as const, etcdArchive: s.etcdArchive, etcdVersion: s.etcdVersion };
deploy(lab, { dir: labDir(), extraConfig: JSON.parse(process.argv[3] ?? "{}"), log: (l) => console.log(l) }).then((r) => console.log("ok", r.seconds), (e) => { console.error(String(e.message).slice(0, 3000)); process.exit(1); });
