import { PKI } from "./layout";
import { shq } from "./scripts/remote";

/** The command that clears a NOSPACE alarm, installed on every member. */
export const NOSPACE_RECOVER = "/usr/local/sbin/etcd-nospace-recover";

export interface NospaceRecoverOptions {
    etcdctl: string;
    /** Every member's client URL, in member order: defragmented in that order, one at a time. */
    endpoints: string[];
    quotaBackendBytes: number;
}

/**
 * Clears NOSPACE the way etcd's maintenance guide says: compact the history up to the current revision, defragment
 * every member one at a time (a member blocks its clients while it defragments), then disarm. It refuses when any
 * other alarm is raised (CORRUPT must never be disarmed this way), when a member does not answer (its backend would
 * stay full), and when a backend is still at its quota after defragmenting (the live data is that large: disarming
 * would only let the next write raise the alarm again). With no alarm raised it does nothing.
 */
export function renderNospaceRecoverScript(o: NospaceRecoverOptions): string {
    return `#!/bin/bash
# Managed by etcd-cluster (Pulumi); local edits are overwritten.
# Clears etcd's NOSPACE alarm: compact, defragment member by member, disarm. Run as root on any member.
set -euo pipefail
etcdctl=${shq(o.etcdctl)}
endpoints=${shq(o.endpoints.join(","))}
quota=${o.quotaBackendBytes}
log() { printf 'etcd-nospace-recover: %s\\n' "$*"; }
fail() { printf 'etcd-nospace-recover: %s\\n' "$*" >&2; exit 1; }
ctl() { # endpoints args...
  local eps=$1
  shift
  "$etcdctl" --endpoints="$eps" --cacert=${PKI.ca} --cert=${PKI.serverCert} --key=${PKI.serverKey} --dial-timeout=3s "$@"
}
oneline() { grep -v '^{"level"' | tr '\\n' ' '; }
field() { # name: one field of \`endpoint status -w fields\` on stdin
  awk -F' : ' -v f="\\"$1\\"" '$1 == f { print $2 }'
}
alarms=$(ctl "$endpoints" alarm list 2>&1) || fail "cannot list alarms: $(oneline <<<"$alarms")"
alarms=$(grep -v '^{"level"' <<<"$alarms" || true)
if [ -z "$alarms" ]; then
  log "no alarm is raised; nothing to do"
  exit 0
fi
# etcdctl ends each alarm line with a space.
others=$(grep -v 'alarm:NOSPACE[[:space:]]*$' <<<"$alarms" || true)
if [ -n "$others" ]; then
  fail "alarms other than NOSPACE are raised ($(tr '\\n' ' ' <<<"$others")): not disarming anything. A CORRUPT alarm means a member's data differs from the others': replace that member (see the README)"
fi
log "NOSPACE is raised: $(tr '\\n' ' ' <<<"$alarms")"
for ep in \${endpoints//,/ }; do
  out=$(ctl "$ep" --command-timeout=10s endpoint status -w fields 2>&1) || fail "member $ep does not answer ($(oneline <<<"$out")): its backend would stay full. Bring it back first, then run this again"
done
revision=$(ctl "$endpoints" --command-timeout=10s endpoint status -w fields | field Revision | sort -n | tail -n 1)
[ -n "$revision" ] || fail "no member reported its revision"
# Compaction is allowed under NOSPACE. Compacting a revision compacted before (a second run) is not an error here.
if out=$(ctl "$endpoints" --command-timeout=60s compaction "$revision" 2>&1); then
  log "compacted the history up to revision $revision"
elif grep -q 'required revision has been compacted' <<<"$out"; then
  log "history already compacted up to revision $revision"
else
  fail "compaction to revision $revision failed: $(oneline <<<"$out")"
fi
for ep in \${endpoints//,/ }; do
  log "defragmenting $ep (its clients wait meanwhile; the other members serve)"
  out=$(ctl "$ep" --command-timeout=30m defrag 2>&1) || fail "defragmenting $ep failed: $(oneline <<<"$out"); the alarm stays raised"
  size=$(ctl "$ep" --command-timeout=10s endpoint status -w fields | field DBSize)
  log "$ep: backend now $size bytes (quota $quota)"
  if [ "\${size:-$quota}" -ge "$quota" ]; then
    fail "$ep's backend is still $size bytes after defragmenting, at its quota of $quota: the live data itself is that large. Delete keys or raise etcd-cluster:quotaBackendBytes (pulumi up), then run this again; the alarm stays raised"
  fi
done
out=$(ctl "$endpoints" alarm disarm 2>&1) || fail "alarm disarm failed: $(oneline <<<"$out")"
left=$(ctl "$endpoints" alarm list 2>&1 | { grep -v '^{"level"' || true; })
[ -z "$left" ] || fail "alarms still raised after disarming: $(tr '\\n' ' ' <<<"$left")"
log "NOSPACE cleared: writes are accepted again"
`;
}
