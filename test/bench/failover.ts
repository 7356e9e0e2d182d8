// Write unavailability when the leader dies (SIGKILL) or is stopped (systemctl stop): from the moment the host
// acts to the first acknowledged write sent after it. The member is then started again and the cluster is let to
// settle, so every run starts from a healthy cluster of three.
import { ClusterInfo } from "../lab/deploy";
import { ok, ssh } from "../lab/e2e-support";
import { labSsh } from "../lab/hosts-ssh";
import { waitHealthy } from "./reference";
import { unavailableMs } from "./writes";

export type LeaderEvent = "kill" | "stop";

interface Status { Endpoint: string; Status: { header: { member_id: string }; leader: string } }

function leaderAddress(info: ClusterInfo): string {
    // Member IDs are 64-bit: keep them as strings.
    const statuses = JSON.parse(ok(info, ["endpoint", "status", "-w", "json"]).replace(/:(\d{15,})/g, ':"$1"')) as Status[];
    const leader = statuses.find((s) => String(s.Status.header.member_id) === String(s.Status.leader));
    if (!leader) throw new Error(`no leader among ${info.endpoints.join(", ")}`);
    return new URL(leader.Endpoint).hostname;
}

// The time is taken on the host right before it acts; hosts share this machine's clock.
const ACTIONS: Record<LeaderEvent, string> = {
    kill: `pid=$(systemctl show -p MainPID --value etcd.service); t=$(date +%s%3N); kill -KILL "$pid"; echo "$t"`,
    stop: `t=$(date +%s%3N); systemctl stop etcd.service; echo "$t"`,
};

export async function leaderOutageMs(info: ClusterInfo, event: LeaderEvent, prefix: string): Promise<number> {
    const leader = leaderAddress(info);
    // ssh without blocking: the writers' timestamps are taken in this process's event loop.
    const ms = await unavailableMs(info, prefix, async () => {
        const r = await labSsh(info.netns, info.sshKey, leader, ACTIONS[event]);
        if (r.code !== 0) throw new Error(`${event} of the leader on ${leader} failed: ${r.stderr}`);
        return Number(r.stdout.trim());
    });
    ssh(info, leader, "systemctl start etcd.service");
    await waitHealthy(info, 60_000);
    // Let the restarted member catch up before the next run measures anything.
    await new Promise((r) => setTimeout(r, 2000));
    return ms;
}
