import { CONFIG_DIR, PKI, binary } from "./layout";
import { shq } from "./scripts/remote";

/** Periodic defragmentation: a timer on every member that defragments only that member. */
export const DEFRAG = {
    script: `${CONFIG_DIR}/defrag.sh`,
    service: "/etc/systemd/system/etcd-defrag.service",
    timer: "/etc/systemd/system/etcd-defrag.timer",
    timerUnit: "etcd-defrag.timer",
} as const;

export interface DefragOptions {
    etcdVersion: string;
    /** This member's client URL: the only member the script defragments. */
    ownEndpoint: string;
    endpoints: string[];
}

/**
 * Defragmentation blocks the member's reads and writes while it runs, so it is done only when every member is
 * healthy (the others carry the load) and never on another member. Skipping is not a failure: the next run retries,
 * and the database-size alert covers a cluster that stays unhealthy.
 */
export function renderDefragScript(o: DefragOptions): string {
    return `#!/bin/bash
# Managed by etcd-cluster (Pulumi); local edits are overwritten.
set -euo pipefail
etcdctl=${shq(binary(o.etcdVersion, "etcdctl"))}
tls=(--cacert=${PKI.ca} --cert=${PKI.serverCert} --key=${PKI.serverKey})
if ! "$etcdctl" "\${tls[@]}" --endpoints=${shq(o.endpoints.join(","))} endpoint health; then
  echo "cluster is not healthy: defragmentation skipped"
  exit 0
fi
"$etcdctl" "\${tls[@]}" --endpoints=${shq(o.ownEndpoint)} endpoint status -w table
# etcd's client timeout (5 s) is far shorter than defragmenting a large backend takes.
"$etcdctl" "\${tls[@]}" --endpoints=${shq(o.ownEndpoint)} --command-timeout=20m defrag
"$etcdctl" "\${tls[@]}" --endpoints=${shq(o.ownEndpoint)} endpoint status -w table
`;
}

export function renderDefragService(memberName: string): string {
    return `# Managed by etcd-cluster (Pulumi); local edits are overwritten.
[Unit]
Description=Defragment etcd member ${memberName}
After=etcd.service
Requisite=etcd.service

[Service]
Type=oneshot
ExecStart=${DEFRAG.script}
TimeoutStartSec=30min
`;
}

/**
 * Members defragment one hour apart (member i at 02:00 + i hours, daily), longer than the service may run, so no
 * two members are ever defragmenting at once. No catch-up after downtime: it would bunch members together.
 */
export function renderDefragTimer(memberName: string, memberIndex: number): string {
    const hour = String((2 + memberIndex) % 24).padStart(2, "0");
    return `# Managed by etcd-cluster (Pulumi); local edits are overwritten.
[Unit]
Description=Defragment etcd member ${memberName} daily, staggered from the other members

[Timer]
OnCalendar=*-*-* ${hour}:00:00
AccuracySec=1min
Persistent=false

[Install]
WantedBy=timers.target
`;
}
