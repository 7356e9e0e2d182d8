// SSH into lab hosts from inside the lab network namespace, with the lab's own key and no host-key bookkeeping
// (hosts are recreated with the same addresses and would otherwise clash in known_hosts).
import { readFileSync } from "node:fs";
import { run, tryRun, RunResult } from "./hosts-run";

export async function createKey(path: string): Promise<string> {
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "etcdlab", "-f", path]);
    return readFileSync(`${path}.pub`, "utf8");
}

const OPTIONS = [
    "-F", "/dev/null", // the user's ssh config must not change how the lab connects
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "ConnectTimeout=2",
    "-o", "LogLevel=ERROR",
];

// `command` is one remote shell command line, as ssh itself takes it.
export function labSsh(netns: string, key: string, address: string, command: string, timeoutMs = 60_000): Promise<RunResult> {
    return tryRun("ip", ["netns", "exec", netns, "ssh", ...OPTIONS, "-i", key, `root@${address}`, command], { timeoutMs });
}

// Waits until sshd on the host accepts the key, the deadline passes, or the host dies.
export async function waitForSsh(netns: string, key: string, address: string, deadline: number, alive: () => boolean): Promise<"up" | "timeout" | "exited"> {
    for (; ;) {
        if (!alive()) return "exited";
        if (Date.now() >= deadline) return "timeout";
        // Generous per attempt: on a loaded machine one ssh login can take several seconds.
        if ((await labSsh(netns, key, address, "true", 20_000)).code === 0) return "up";
        await new Promise((r) => setTimeout(r, 250));
    }
}
