import { BOOTSTRAP_ENV_FILE, CURRENT_LINK, RELEASE_FILES } from "./layout";

export interface UnitOptions {
    memberName: string;
    dataDir: string;
    walDir: string;
    gomaxprocs: number;
    /** Directories that are a disk's mount point (dataDevice, walDevice): etcd must never start without them mounted. */
    mountPoints?: string[];
}

/**
 * The systemd unit. Type=notify: systemd sees etcd ready only once it has joined a quorum. Sandboxing is what etcd
 * tolerates from `systemd-analyze security`'s list (it writes only its data and WAL dirs, needs no privilege, no
 * other process and no kernel interface); network access stays, as clients and peers come from anywhere. Binary and
 * environment are read through the `current` link, so the unit names no version and an unplanned restart runs what
 * the gate last switched to. Best-effort I/O class at the highest priority, as etcd's tuning guide advises, so other
 * disk users cannot starve the WAL; the OOM killer takes anything else first. Ordered after time sync: lease expiry
 * and TLS validity read the clock. A disk's mount point is also asserted: RequiresMountsFor= pulls in only mount
 * units systemd knows from fstab, which a container's systemd ignores for devices, and etcd started on the empty
 * directory under a missing disk would begin a new, empty member.
 */
export function renderUnit(o: UnitOptions): string {
    return `# Managed by etcd-cluster (Pulumi); local edits are overwritten.
[Unit]
Description=etcd member ${o.memberName}
Documentation=https://etcd.io/docs/
After=network-online.target local-fs.target time-sync.target
Wants=network-online.target
RequiresMountsFor=${o.dataDir} ${o.walDir}
${(o.mountPoints ?? []).map((m) => `AssertPathIsMountPoint=${m}
`).join("")}
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
OOMScoreAdjust=-999
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ReadWritePaths=${o.dataDir} ${o.walDir}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
PrivateIPC=yes
PrivateUsers=yes
RemoveIPC=yes
ProtectProc=invisible
ProcSubset=pid
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
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}
