// What a client sees: how long one write takes, and how long after an event (a killed or stopped leader) the first
// write goes through.
import { ClusterInfo } from "../lab/deploy";
import { etcdctlAsync } from "../lab/e2e-support";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Median time of one `etcdctl put` (process start, TLS, write, exit) on an idle cluster: the writer's unit of time. */
export async function writeRoundTripMs(info: ClusterInfo, prefix: string, count = 20): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
        const t = performance.now();
        const status = await etcdctlAsync(info, ["put", `${prefix}${i}`, "v"], { timeout: "3s" });
        if (status !== 0) throw new Error(`etcdctl put ${prefix}${i} failed on an idle cluster`);
        times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
}

const WRITERS = 2;
const WRITE_TIMEOUT = "1s";
const GIVE_UP_MS = 30_000;

/**
 * Writes continuously from `WRITERS` clients (each `etcdctl put` to every endpoint, one after another), runs
 * `event` (which returns when, in epoch ms, the event happened on the host: the hosts share this machine's clock)
 * and returns the time from the event to the first acknowledged write that was sent after it.
 */
export async function unavailableMs(info: ClusterInfo, prefix: string, event: () => Promise<number>): Promise<number> {
    const writes: Array<{ sent: number; acked: number }> = [];
    let writing = true;
    const writer = async (w: number) => {
        // Staggered, so one writer's request is always fresh.
        await sleep(w * 150);
        for (let i = 0; writing; i++) {
            const sent = Date.now();
            const ok = (await etcdctlAsync(info, ["put", `${prefix}${w}/${i}`, "v"], { timeout: WRITE_TIMEOUT })) === 0;
            if (ok) writes.push({ sent, acked: Date.now() });
            // A refused write returns at once: do not spin on a cluster without a leader.
            else await sleep(20);
        }
    };
    const firstAfter = (at: number) => Math.min(...writes.filter((w) => w.sent >= at).map((w) => w.acked));
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    let at: number;
    try {
        await sleep(1000);
        at = await event();
        const deadline = Date.now() + GIVE_UP_MS;
        while (!Number.isFinite(firstAfter(at)) && Date.now() < deadline) await sleep(50);
    } finally {
        writing = false;
        await Promise.all(writers);
    }
    const first = firstAfter(at);
    if (!Number.isFinite(first)) throw new Error(`no write was acknowledged within ${GIVE_UP_MS / 1000}s of the event`);
    return first - at;
}
