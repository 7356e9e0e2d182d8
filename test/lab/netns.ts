// The lab network: a namespace holding a bridge, and one namespace per host joined to it by a veth pair. No link
// leads out of these namespaces, so lab traffic cannot leave the machine.
import { existsSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { run, tryRun } from "./hosts-run";
import { LAB_NAME, SUBNET_PREFIX } from "./lab-id";

export const LAB_NETNS = LAB_NAME;
const BRIDGE = `br-${LAB_NAME}`;
/** The bridge's address in the lab namespace: where lab-side services (a release mirror) listen. */
export const GATEWAY = `${SUBNET_PREFIX}.1`;
const PREFIX_LEN = 24;

export function hostNetns(name: string): string {
    return `${LAB_NETNS}-${name}`;
}

export function hostAddress(index: number): string {
    return `${SUBNET_PREFIX}.${10 + index}`;
}

export async function createLabNetns(): Promise<void> {
    await run("ip", ["netns", "add", LAB_NETNS]);
    await run("ip", ["-n", LAB_NETNS, "link", "set", "lo", "up"]);
    await run("ip", ["-n", LAB_NETNS, "link", "add", BRIDGE, "type", "bridge"]);
    await run("ip", ["-n", LAB_NETNS, "addr", "add", `${GATEWAY}/${PREFIX_LEN}`, "dev", BRIDGE]);
    await run("ip", ["-n", LAB_NETNS, "link", "set", BRIDGE, "up"]);
}

// The veth is created inside the lab namespace with its peer moved straight into the host's namespace, so neither
// end ever exists in the machine's own namespace.
export async function createHostNetns(name: string, address: string): Promise<void> {
    const ns = hostNetns(name);
    const veth = `ve-${name}`;
    if (veth.length > 15) throw new Error(`interface name ${veth} is longer than 15 characters`);
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await run("ip", ["-n", LAB_NETNS, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await run("ip", ["-n", LAB_NETNS, "link", "set", veth, "master", BRIDGE, "up"]);
    await run("ip", ["-n", ns, "addr", "add", `${address}/${PREFIX_LEN}`, "dev", "eth0"]);
    await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
}

// Fails unless the namespace has only loopback, veth and bridge links and no default route: then nothing in it
// can reach an address outside the lab.
export async function assertIsolated(ns: string): Promise<void> {
    const links = JSON.parse(await run("ip", ["-n", ns, "-j", "-d", "link", "show"])) as { ifname: string; link_type: string; linkinfo?: { info_kind?: string } }[];
    for (const l of links) {
        const kind = l.link_type === "loopback" ? "loopback" : l.linkinfo?.info_kind;
        if (kind !== "loopback" && kind !== "veth" && kind !== "bridge") throw new Error(`netns ${ns} has link ${l.ifname} of kind ${kind ?? l.link_type}: the lab must have no link out`);
    }
    const routes = JSON.parse(await run("ip", ["-n", ns, "-j", "route", "show", "table", "all"])) as { dst: string }[];
    const outward = routes.filter((r) => r.dst === "default");
    if (outward.length > 0) throw new Error(`netns ${ns} has a default route: ${JSON.stringify(outward)}`);
}

// Every namespace the lab may have made, including ones a crashed run left behind.
export async function labNamespaces(): Promise<string[]> {
    const out = await tryRun("ip", ["netns", "list"]);
    return out.stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => n === LAB_NETNS || n.startsWith(`${LAB_NETNS}-`));
}

// Under `ip netns exec` a process also gets a private mount namespace and its own /sys: unmounting there would leave
// the real overlay mounts in place, and the cgroup hierarchies are not visible. The lab is managed from outside.
export async function assertOutsideLab(): Promise<void> {
    const self = statSync("/proc/self/ns/net").ino;
    for (const ns of await labNamespaces()) {
        if (statSync(`/run/netns/${ns}`).ino === self) throw new Error(`the lab must be managed from the machine's own namespaces, not from inside ${ns} (ip netns exec)`);
    }
}

export async function netnsPids(ns: string): Promise<number[]> {
    const out = await tryRun("ip", ["netns", "pids", ns]);
    return out.stdout.split("\n").filter((l) => /^\d+$/.test(l.trim())).map(Number);
}

export async function deleteNetns(ns: string): Promise<void> {
    await run("ip", ["netns", "del", ns]);
}

// `ip netns add` turns /run/netns into a shared bind mount of itself; once no namespace is left there, undo that so
// the machine is as the lab found it.
export async function releaseNetnsDir(): Promise<void> {
    const dir = "/run/netns";
    if (!existsSync(dir) || readdirSync(dir).length > 0) return;
    await tryRun("umount", [dir]);
    try {
        rmdirSync(dir);
    } catch {
        // Another tool may have started using it in the meantime; leaving an empty directory is harmless.
    }
}
