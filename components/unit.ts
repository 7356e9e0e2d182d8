import { BOOTSTRAP_ENV_FILE, CURRENT_LINK, RELEASE_FILES } from "./layout";

export interface UnitOptions {
    memberName: string;
    dataDir: string;
    walDir: string;
    gomaxprocs: number;
}

/**
 * The systemd unit. Type=notify: systemd sees etcd ready only once it has joined a quorum. Sandboxing is limited to
 * what etcd tolerates (it needs to write only its data and WAL dirs). Binary and environment are read through the
 * `current` link, so the unit names no version and an unplanned restart runs what the gate last switched to. Best-effort I/O class at the highest priority,
 * as etcd's tuning guide advises, so other disk users cannot starve the WAL.
 */
export function renderUnit(o: UnitOptions): string {
    return `# Managed by etcd-cluster (Pulumi); local edits are overwritten.
[Unit]
Description=etcd member ${o.memberName}
Documentation=https://etcd.io/docs/
After=network-online.target local-fs.target
Wants=network-online.target
RequiresMountsFor=${o.dataDir} ${o.walDir}

[Service]
Type=notify
User=etcd
Group=etcd
EnvironmentFile=${CURRENT_LINK}/${RELEASE_FILES.env}
EnvironmentFile=-${BOOTSTRAP_ENV_FILE}
Environment=GOMAXPROCS=${o.gomaxprocs}
ExecStart=${CURRENT_LINK}/${RELEASE_FILES.etcd} --data-dir=${o.dataDir}
Restart=on-failure
RestartSec=5s
TimeoutStartSec=300
LimitNOFILE=65536
IOSchedulingClass=best-effort
IOSchedulingPriority=0
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
ProtectSystem=strict
ReadWritePaths=${o.dataDir} ${o.walDir}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
}
