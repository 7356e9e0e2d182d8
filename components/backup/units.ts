import { BACKUP } from "./layout";
import { BackupSchedule } from "./settings";

/** The scheduled backup's systemd units on every member: a oneshot service and its timer. */

export function renderBackupService(memberName: string): string {
    return `# Managed by etcd-cluster (Pulumi); local edits are overwritten.
[Unit]
Description=Back up etcd (member ${memberName} acts only while it is the leader)
After=etcd.service network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=${BACKUP.script}
TimeoutStartSec=1h
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
`;
}

/**
 * Every member fires at the same wall-clock instants (no randomized delay), so the one that is leader then takes the
 * backup. No catch-up after downtime (Persistent=false): a member that was off would fire on boot, at a moment
 * when it may also be the leader, for a backup the schedule already has.
 */
export function renderBackupTimer(memberName: string, schedule: BackupSchedule): string {
    return `# Managed by etcd-cluster (Pulumi); local edits are overwritten.
[Unit]
Description=Back up etcd on schedule "${schedule.text}" (member ${memberName})

[Timer]
OnCalendar=${schedule.onCalendar}
AccuracySec=1s
RandomizedDelaySec=0
Persistent=false
Unit=${BACKUP.serviceUnit}

[Install]
WantedBy=timers.target
`;
}
