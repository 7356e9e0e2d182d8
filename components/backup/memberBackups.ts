import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { encodeBundle, HostFile } from "../fileBundle";
import { MemberPlan } from "../plan";
import { receiveStdinFiles, WRITE_FILE, writeInlineFiles } from "../scripts/configure";
import { remoteCommand } from "../scripts/remote";
import { Machine } from "../targets/machine";
import { renderBackupScript } from "./backupScript";
import { BACKUP } from "./layout";
import { MemberStore } from "./memberStore";
import { BackupSettings, maxBackupAgeSeconds } from "./settings";
import { renderBackupService, renderBackupTimer } from "./units";

export interface InstallOptions {
    memberName: string;
    inlineFiles: HostFile[];
    /** Paths of the files that arrive on standard input (see fileBundle.ts). */
    stdinPaths: string[];
}

/** Writes the backup's files (changed ones only) and keeps its timer enabled and running; restarts nothing else. */
export function renderBackupInstallScript(o: InstallOptions): string {
    return `set -euo pipefail
# Scheduled backups on etcd member ${o.memberName}.
changed=0
tmp=""
trap 'rm -f "$tmp"' EXIT
${WRITE_FILE}
install -d -m 700 ${BACKUP.dir} ${BACKUP.stateDir}
if [ ! -s ${BACKUP.configuredAt} ]; then date -u +%s > ${BACKUP.configuredAt}; fi
${receiveStdinFiles(o.stdinPaths)}
${writeInlineFiles(o.inlineFiles)}
if [ "$changed" -eq 1 ]; then systemctl daemon-reload; fi
if ! systemctl is-enabled --quiet ${BACKUP.timerUnit}; then systemctl enable --quiet ${BACKUP.timerUnit}; echo "enabled ${BACKUP.timerUnit}"; fi
# A changed schedule takes effect when the timer restarts (that never starts a backup by itself).
if [ "$changed" -eq 1 ] || ! systemctl is-active --quiet ${BACKUP.timerUnit}; then systemctl restart ${BACKUP.timerUnit}; echo "started ${BACKUP.timerUnit}"; fi
if [ "$changed" -eq 0 ]; then echo "${o.memberName}: backups are up to date"; fi
systemctl list-timers --no-pager ${BACKUP.timerUnit}
`;
}

/** When backups are switched off: the timer stops; what was stored, and the last-success record, stay. */
export function renderBackupRemoveScript(memberName: string): string {
    return `set -euo pipefail
# Switch off scheduled backups on etcd member ${memberName}.
systemctl disable --now --quiet ${BACKUP.timerUnit} 2>/dev/null || true
rm -f ${BACKUP.timer} ${BACKUP.service} ${BACKUP.script} ${BACKUP.sshKey} ${BACKUP.knownHosts}
systemctl daemon-reload
echo "${memberName}: scheduled backups switched off"
`;
}

export interface MemberBackupsArgs {
    settings: BackupSettings;
    stack: string;
    token: pulumi.Input<string>;
    etcdVersion: string;
    store: MemberStore;
    machines: Machine[];
    plans: pulumi.Output<MemberPlan[]>;
    /** Backups start once the cluster is healthy (the health gate). */
    after: pulumi.Resource[];
}

/** One step per member: its backup script, units and store credentials, and the timer running. */
export function memberBackups(args: MemberBackupsArgs, parent?: pulumi.Resource): command.remote.Command[] {
    const { settings, store } = args;
    return args.machines.map((machine) => {
        const name = machine.name;
        const files = pulumi.all([args.plans, args.token, store.storePut, store.description]).apply(([plans, token, storePut, description]): HostFile[] => [
            ...store.files,
            { path: BACKUP.script, mode: "755", owner: "root:root", content: renderBackupScript({
                memberName: name, etcdVersion: args.etcdVersion, ownEndpoint: plans.find((p) => p.name === name)!.clientUrl,
                stack: args.stack, clusterToken: token, intervalSeconds: settings.schedule.intervalSeconds,
                maxAgeSeconds: maxBackupAgeSeconds(settings.schedule), keepDaily: settings.retention.daily, storePut, storeDescription: description,
            }) },
            { path: BACKUP.service, mode: "644", owner: "root:root", content: renderBackupService(name) },
            { path: BACKUP.timer, mode: "644", owner: "root:root", content: renderBackupTimer(name, settings.schedule) },
        ]);
        const secrets = store.secretFiles ?? pulumi.output([]);
        return new command.remote.Command(`${name}-backup`, {
            connection: machine.connection,
            create: pulumi.all([files, secrets]).apply(([inlineFiles, secretFiles]) => remoteCommand(
                renderBackupInstallScript({ memberName: name, inlineFiles, stdinPaths: secretFiles.map((f) => f.path) }),
                { user: machine.user, label: `scheduled backups on ${name}` })),
            delete: remoteCommand(renderBackupRemoveScript(name), { user: machine.user, label: `switch off backups on ${name}` }),
            stdin: pulumi.secret(secrets.apply(encodeBundle)),
            triggers: [machine.identity],
        }, { parent, dependsOn: [...args.after, ...store.ready] });
    });
}
