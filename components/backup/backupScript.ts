import { PKI, binary } from "../layout";
import { shq } from "../scripts/remote";
import { BACKUP, BACKUP_METRICS, TEXTFILE_DIR } from "./layout";

export interface BackupScriptOptions {
    memberName: string;
    etcdVersion: string;
    /** This member's client URL: the script only ever asks its own member. */
    ownEndpoint: string;
    stack: string;
    /** The cluster token: backups of a restored cluster (new token) never mix with the old one's. */
    clusterToken: string;
    intervalSeconds: number;
    maxAgeSeconds: number;
    /** Daily backups kept; 0: none are stored. */
    keepDaily: number;
    /** Bash defining `store_put <tier> <name> <file> <sha256>` (the store's own upload, see stores.ts). */
    storePut: string;
    /** Where the store is, for the log. */
    storeDescription: string;
}

/**
 * The scheduled backup. Every member's timer fires at the same instants, and only the member that is the raft
 * leader at that moment acts, so exactly one member takes each backup without any lock or coordination: etcd's own
 * election already picks one member, it always has the newest data, and a member that cannot tell (no leader, its
 * own etcd down) fails loudly rather than guessing. Streaming a snapshot costs the leader some disk reads; for a
 * database of at most 8 GiB that is seconds. The snapshot is verified before it leaves the host: etcd's own SHA-256
 * trailer (appended by the server and checked again on restore), and `etcdutl snapshot status` (a readable bbolt
 * database with a non-zero revision and hash). Any failure fails the unit and the metric says so.
 */
export function renderBackupScript(o: BackupScriptOptions): string {
    return `#!/bin/bash
# Managed by etcd-cluster (Pulumi); local edits are overwritten.
# Scheduled backup of etcd member ${o.memberName}: only the leader takes it (see README, "Backups").
set -euo pipefail
etcdctl=${shq(binary(o.etcdVersion, "etcdctl"))}
etcdutl=${shq(binary(o.etcdVersion, "etcdutl"))}
own=${shq(o.ownEndpoint)}
prefix=${shq(`${o.stack}/${o.clusterToken}`)}
stack=${shq(o.stack)}
state=${BACKUP.stateDir}
work=""
last_success=0
if [ -f ${BACKUP.lastSuccess} ]; then last_success=$(date -u -d "$(cut -d' ' -f1 ${BACKUP.lastSuccess})" +%s); fi

ctl() {
  "$etcdctl" --endpoints="$own" --cacert=${PKI.ca} --cert=${PKI.serverCert} --key=${PKI.serverKey} --dial-timeout=5s "$@"
}

metrics() { # 1 when this run succeeded (or was not this member's to take), else 0
  local tmp
  [ -d ${TEXTFILE_DIR} ] || install -d -m 755 ${TEXTFILE_DIR}
  tmp=$(mktemp ${shq(BACKUP_METRICS)}.XXXXXX)
  {
    echo "# HELP etcd_backup_last_run_success 1 if this member's last scheduled backup run succeeded or was not its turn, 0 if it failed."
    echo "# TYPE etcd_backup_last_run_success gauge"
    echo "etcd_backup_last_run_success{stack=\\"$stack\\"} $1"
    echo "# HELP etcd_backup_max_age_seconds Age the newest backup may reach before it is overdue (twice the schedule's interval plus 10 minutes)."
    echo "# TYPE etcd_backup_max_age_seconds gauge"
    echo "etcd_backup_max_age_seconds{stack=\\"$stack\\"} ${o.maxAgeSeconds}"
    echo "# HELP etcd_backup_configured_timestamp_seconds When scheduled backups were set up on this member: overdue counts from here until the first backup."
    echo "# TYPE etcd_backup_configured_timestamp_seconds gauge"
    echo "etcd_backup_configured_timestamp_seconds{stack=\\"$stack\\"} $(cat ${BACKUP.configuredAt} 2>/dev/null || echo 0)"
    if [ "$last_success" -gt 0 ]; then
      echo "# HELP etcd_backup_last_success_timestamp_seconds When this member last took a backup that was verified and stored."
      echo "# TYPE etcd_backup_last_success_timestamp_seconds gauge"
      echo "etcd_backup_last_success_timestamp_seconds{stack=\\"$stack\\"} $last_success"
    fi
  } > "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" ${shq(BACKUP_METRICS)}
}

finish() {
  local rc=$?
  if [ -n "$work" ]; then rm -rf "$work"; fi
  if [ "$rc" -ne 0 ]; then
    echo "backup FAILED (exit $rc): nothing new is in the store" >&2
    metrics 0 || true
  fi
  exit "$rc"
}
trap finish EXIT

${o.storePut}

fields=$(ctl endpoint status -w fields 2>&1) || { echo "cannot read the status of ${o.memberName}: $fields" >&2; exit 1; }
field() { awk -F' : ' -v k="\\"$1\\"" '$1 == k { print $2; exit }' <<<"$fields"; }
member_id=$(field MemberID)
leader=$(field Leader)
if [ -z "$leader" ] || [ "$leader" = 0 ]; then echo "${o.memberName} sees no leader: no member can take a backup" >&2; exit 1; fi
if [ "$member_id" != "$leader" ]; then
  echo "${o.memberName} is not the leader (leader: $leader): the leader takes this backup"
  metrics 1
  exit 0
fi

install -d -m 700 "$state"
work=$(mktemp -d "$state/work.XXXXXX")
started=$(date -u +%s)
stamp=$(date -u -d "@$started" +%Y%m%dT%H%M%SZ)
echo "${o.memberName} is the leader: taking a snapshot"
# A large backend takes far longer than etcd's 5 s default request timeout to stream.
ctl --command-timeout=30m snapshot save "$work/snapshot.db" >"$work/save.log" 2>&1 || { cat "$work/save.log" >&2; echo "etcdctl snapshot save failed" >&2; exit 1; }

# etcd appends the SHA-256 of the database to the snapshot it streams; a torn or altered copy fails here.
size=$(stat -c %s "$work/snapshot.db")
if [ "$size" -le 32 ]; then echo "the snapshot is empty ($size bytes)" >&2; exit 1; fi
trailer=$(tail -c 32 "$work/snapshot.db" | od -An -v -tx1 | tr -d ' \\n')
body=$(head -c $((size - 32)) "$work/snapshot.db" | sha256sum | cut -d' ' -f1)
if [ "$trailer" != "$body" ]; then echo "the snapshot fails etcd's own SHA-256 check: it is corrupt" >&2; exit 1; fi
status=$("$etcdutl" snapshot status "$work/snapshot.db" -w json 2>&1) || { echo "etcdutl snapshot status cannot read the snapshot: $status" >&2; exit 1; }
revision=$(grep -o '"revision":[0-9]*' <<<"$status" | cut -d: -f2)
hash=$(grep -o '"hash":[0-9]*' <<<"$status" | cut -d: -f2)
if [ -z "$revision" ] || [ "$revision" -le 0 ] || [ -z "$hash" ] || [ "$hash" = 0 ]; then
  echo "the snapshot is not a usable etcd database (revision '\${revision}', hash '\${hash}'): $status" >&2
  exit 1
fi

name="$stamp-rev$revision.db"
mv "$work/snapshot.db" "$work/$name"
sha=$(sha256sum "$work/$name" | cut -d' ' -f1)
store_put hourly "$name" "$work/$name" "$sha"
${o.keepDaily > 0 ? `# The backup taken in the first interval of a UTC day is also the day's daily backup.
if [ $((started % 86400)) -lt ${o.intervalSeconds} ]; then store_put daily "$name" "$work/$name" "$sha"; fi
` : ""}
printf '%s %s revision=%s sha256=%s\\n' "$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)" "$prefix/hourly/$name" "$revision" "$sha" > "$state/last-success.tmp"
mv -f "$state/last-success.tmp" ${BACKUP.lastSuccess}
last_success=$started
metrics 1
echo "backup $prefix/hourly/$name (revision $revision, $size bytes, sha256 $sha) stored in ${o.storeDescription} in $(( $(date -u +%s) - started ))s"
`;
}
