import { APPLIED_STAMP, BOOTSTRAP_ENV_FILE, CURRENT_LINK, RELEASE_FILES, UNIT_FILE, releaseDir } from "../layout";
import { MemberPlan, initialCluster } from "../plan";
import { healthLibrary } from "./health";
import { shq } from "./remote";

/** What the membership survey found when this update began: no cluster anywhere yet, or a cluster to join. */
export type ClusterMode = "new" | "existing";

export interface ApplyOptions {
    member: MemberPlan;
    /** Every configured member, in order. */
    members: MemberPlan[];
    etcdVersion: string;
    dataDir: string;
    /** Names the staged configuration this step switches etcd to. */
    digest: string;
    token: string;
    mode: ClusterMode;
    timeoutSeconds: number;
}

/**
 * Brings one member to its staged configuration. Nothing to do when etcd is active with it and was verified healthy
 * with it. Otherwise:
 * - empty data dir: join the cluster when any configured peer answers (announce this member as a learner, start it
 *   with the actual membership, promote it once it has caught up; a stale entry of this member whose data is gone is
 *   removed first, but an entry that never started, such as this member's in a bootstrap its peers finished first, is
 *   joined under its identity, and done once it serves while members after it have yet to start); bootstrap a new
 *   cluster only when the survey found none and no peer answers, without waiting (at bootstrap no member can be
 *   ready before a quorum runs).
 * - data: restart only when every other member is healthy, after moving leadership away; switch the `current` link
 *   to the staged configuration just before; then wait until the unit is active, etcd answers with the expected
 *   version and the cluster is healthy. Only then is the stamp written, so a member that crash-loops fails this step
 *   on every run (and, chained member after member, stops the roll) until it is fixed. A member already starting
 *   with this configuration (a restarted or replaced machine coming back) is waited for, not restarted; one down
 *   between crash restarts with it is started once at once (its cause may have been fixed).
 */
export function renderApplyScript(o: ApplyOptions): string {
    const peers = o.members.filter((m) => m.name !== o.member.name);
    return `set -euo pipefail
# Apply configuration ${o.digest} to etcd member ${o.member.name}.
${healthLibrary({ etcdVersion: o.etcdVersion, members: o.members, certificates: releaseDir(o.digest), subject: `member ${o.member.name}` })}
version=${shq(o.etcdVersion)}
name=${shq(o.member.name)}
client_url=${shq(o.member.clientUrl)}
peer_url=${shq(o.member.peerUrl)}
peers=${shq(peers.map((m) => m.clientUrl).join(","))}
data_dir=${shq(o.dataDir)}
digest=${shq(o.digest)}
release=${shq(releaseDir(o.digest))}
mode=${shq(o.mode)}
timeout=${o.timeoutSeconds}
stamp=${shq(APPLIED_STAMP)}
bootstrap=${shq(BOOTSTRAP_ENV_FILE)}
[ -d "$release" ] || fail "configuration $digest is not staged on this host; run pulumi up again so that its configure step stages it"

switch_release() {
  local link
  link=$(readlink ${CURRENT_LINK} || true)
  if [ "$link" != "releases/$digest" ]; then
    ln -sfn "releases/$digest" ${CURRENT_LINK}.new
    mv -fT ${CURRENT_LINK}.new ${CURRENT_LINK}
    echo "$name: switched etcd's configuration from \${link##*/} to $digest"
  fi
  if ! cmp -s "$release/${RELEASE_FILES.unit}" ${UNIT_FILE}; then
    install -m 644 "$release/${RELEASE_FILES.unit}" ${UNIT_FILE}.new
    mv -f ${UNIT_FILE}.new ${UNIT_FILE}
    systemctl daemon-reload
  fi
  if ! systemctl is-enabled --quiet etcd.service; then systemctl enable --quiet etcd.service; fi
}
journal_tail() {
  journalctl -u etcd.service -n 4 --no-pager -o cat 2>/dev/null | grep -v '^$' | paste -sd' ' - || true
}
unit_is() { systemctl show -p "$1" --value etcd.service; }
# This member answers with the expected version; a voter must also answer health (a learner serves no reads).
member_serves() {
  local status
  status=$(ctl "$client_url" endpoint status -w simple 2>/dev/null) || return 1
  [ "$(field 3 <<<"$status")" = "$version" ] || return 1
  [ "$(field 6 <<<"$status")" = true ] || ctl "$client_url" endpoint health >/dev/null 2>&1
}
# shellcheck disable=SC2317 # called through wait_for
serves_unless_crash_looping() {
  if [ "$(unit_is SubState)" = auto-restart ]; then fatal="crash loop"; return 1; fi
  member_serves
}
# Starts (or restarts) etcd and waits until this member serves; a crash fails at once.
run_etcd() { # start|restart
  local pid out
  if ! out=$(timeout "$timeout" systemctl "$1" etcd.service 2>&1); then
    fail "etcd did not start with configuration $digest (unit $(unit_is ActiveState)/$(unit_is SubState)): $(journal_tail) $out. Fix the cause (journalctl -u etcd on this host) and run pulumi up again; no other member is changed until then"
  fi
  pid=$(unit_is MainPID)
  local deadline=$((SECONDS + timeout))
  until member_serves; do
    if [ "$(unit_is ActiveState)" != active ] || [ "$(unit_is MainPID)" != "$pid" ]; then
      fail "etcd crashed after starting with configuration $digest: $(journal_tail). Fix the cause (journalctl -u etcd on this host) and run pulumi up again; no other member is changed until then"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "etcd is active but does not answer at $client_url with version $version after \${timeout}s: $(journal_tail)"
    sleep 2
  done
}
verified() {
  if ! wait_for "$timeout" cluster_problems; then
    fail "$name runs configuration $digest, but the cluster is not healthy: $problems_seen"
  fi
  printf '%s\\n' "$digest" > "$stamp"
  rm -f "$bootstrap"
  echo "$name: running configuration $digest; member and cluster healthy"
  exit 0
}
move_leadership_away() {
  local status id url
  status=$(ctl "$client_url" endpoint status -w simple 2>/dev/null) || return 0
  [ "$(field 5 <<<"$status")" = true ] || return 0
  while read -r id url; do
    if ctl "$url" endpoint health >/dev/null 2>&1 && ctl "$client_url" move-leader "$id" >/dev/null 2>&1; then
      echo "$name: moved leadership to the member at $url"
      return 0
    fi
  done < <(member_list "$peers" | awk -F', ' -v me="$name" '$2 == "started" && $6 == "false" && $3 != me { print $1, $5 }')
  echo "$name: no healthy follower took leadership; etcd hands it over when it stops"
}

write_bootstrap() { # state initial-cluster
  local tmp
  tmp=$(mktemp "$bootstrap.XXXXXX")
  printf '# Read by etcd only when its data dir is empty; written by etcd-cluster before this member first started.\\nETCD_INITIAL_CLUSTER_STATE=%s\\nETCD_INITIAL_CLUSTER=%s\\nETCD_INITIAL_CLUSTER_TOKEN=%s\\n' "$1" "$2" ${shq(o.token)} > "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$bootstrap"
}
join_cluster() { # member list
  local members=$1 line id entry_name entry_peer announced="" out cluster pending
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    id=$(field 1 <<<"$line"); entry_name=$(field 3 <<<"$line"); entry_peer=$(field 4 <<<"$line")
    # No client URLs: this member never started (announced by member add, or listed in the initial cluster of a
    # bootstrap that its peers finished first). As etcd itself judges it, it joins under the identity it was given.
    if [ "$entry_peer" = "$peer_url" ] && [ -z "$(field 5 <<<"$line")" ]; then announced=$id; continue; fi
    if [ "$entry_peer" != "$peer_url" ] && ctl "$(field 5 <<<"$line")" endpoint health >/dev/null 2>&1; then
      fail "the name $name is taken by a running member at $entry_peer; remove that member (take it out of the configuration, run pulumi up) before giving its name to this host"
    fi
    # This host's data dir is empty, so the member the cluster knows under this name or address lost its data:
    # it must never come back with the same identity.
    out=$(ctl "$peers" member remove "$id" 2>&1) || fail "cannot remove the lost member $entry_name ($id, data gone) before joining again: $(oneline <<<"$out")"
    echo "$name: removed member $id ($entry_name $entry_peer), whose data is gone; joining as a new member"
  done < <(awk -F', ' -v p="$peer_url" -v n="$name" '$4 == p || $3 == n' <<<"$members")
  if [ -z "$announced" ]; then
    out=$(ctl "$peers" member add "$name" --peer-urls="$peer_url" --learner 2>&1) || fail "the cluster refused to add this member as a learner: $(oneline <<<"$out"). If another learner is still catching up, run pulumi up again once it is promoted"
    echo "$name: announced as a learner"
  fi
  members=$(member_list "$peers") || fail "no member answers at $peers after this member was announced; run pulumi up again"
  cluster=$(awk -F', ' -v p="$peer_url" -v n="$name" '{ print ($4 == p ? n : $3) "=" $4 }' <<<"$members" | paste -sd, -)
  write_bootstrap existing "$cluster"
  switch_release
  echo "$name: starting etcd to join the cluster as $cluster"
  run_etcd start
  id=$(awk -F', ' -v p="$peer_url" '$4 == p && $6 == "true" { print $1 }' <<<"$(member_list "$peers")")
  if [ -n "$id" ]; then
    local deadline=$((SECONDS + timeout))
    # etcd refuses to promote a learner that has not caught up with the leader, and a busy cluster may time out: retry, bounded.
    until out=$(ctl "$peers" member promote "$id" 2>&1); do
      transient "$out" || fail "cannot promote this learner: $(oneline <<<"$out")"
      [ "$SECONDS" -lt "$deadline" ] || fail "this learner did not catch up with the leader within \${timeout}s; run pulumi up again to retry the promotion"
      sleep 2
    done
    echo "$name: promoted from learner to voting member"
  fi
  # Peers of the same bootstrap that never started come after this member in the chain of apply steps: the cluster
  # cannot be healthy before they run, so this member is done once it serves (as at bootstrap).
  pending=$(member_list "$peers" | awk -F', ' -v p="$peer_url" '$4 != p && $5 == "" && $6 == "false" { print $4 }' | paste -sd, -)
  if [ -n "$pending" ]; then
    echo "$name: serving; voting members that never started ($pending) start in their own apply steps, and the health gate waits for them"
    exit 0
  fi
  verified
}
first_start() {
  local members=""
  if [ -n "$peers" ] && members=$(member_list "$peers") && [ -n "$members" ]; then join_cluster "$members"; fi
  if [ "$mode" = existing ]; then
    if wait_for "$timeout" member_list "$peers"; then join_cluster "$(member_list "$peers")"; fi
    fail "this host has no etcd data and must join the existing cluster, but no member answers at $peers; bring the cluster back first (journalctl -u etcd on its hosts), then run pulumi up again"
  fi
  write_bootstrap new ${shq(initialCluster(o.members))}
  switch_release
  systemctl start --no-block etcd.service
  echo "$name: bootstrap: starting etcd as a member of a new cluster without waiting for the other members"
  exit 0
}

state=$(systemctl is-active etcd.service || true)
running=$(readlink ${CURRENT_LINK} || true)
running=\${running##*/}
applied=$(cat "$stamp" 2>/dev/null || true)
if [ ! -d "$data_dir/member" ]; then
  [ "$state" != active ] || fail "etcd is active but $data_dir holds no member data; check etcd's --data-dir"
  first_start
fi
if [ "$running" = "$digest" ] && [ "$applied" = "$digest" ] && [ "$state" = active ]; then
  rm -f "$bootstrap"
  echo "$name: etcd is active with configuration $digest; nothing to do"
  exit 0
fi
if ! members=$(member_list "$desired"); then
  [ "$state" != active ] || fail "no member answers at $desired (the cluster has no quorum); refusing to restart this member; bring the other members back first"
  switch_release
  systemctl start --no-block etcd.service
  echo "$name: no member answers (the whole cluster is down): starting etcd without waiting; the health gate waits for the cluster"
  exit 0
fi
if ! awk -F', ' -v p="$peer_url" '$4 == p { found = 1 } END { exit !found }' <<<"$members"; then
  fail "this host holds etcd data in $data_dir, but the cluster has no member at $peer_url (it was removed). Stop etcd here (systemctl disable --now etcd), move $data_dir/member and the WAL (under etcd-cluster:walDir) aside (mv $data_dir/member $data_dir/member.removed-\$(date +%F); never delete them) and run pulumi up again to add this host as a new member"
fi
if { [ "$state" = active ] || [ "$state" = activating ]; } && [ "$running" = "$digest" ]; then
  if [ "$(unit_is SubState)" = auto-restart ]; then
    # Down between two crashes with this configuration: start it once now, as its cause may have been fixed since
    # (waiting for systemd's next try would race it). Crashing again fails at once, so a crash loop stops every run.
    echo "$name: etcd is down between crash restarts with configuration $digest; starting it once now"
    run_etcd restart
    verified
  fi
  # Switched by an earlier run that stopped before verifying, or coming back (a restarted or replaced machine):
  # wait for it rather than restart it, unless systemd is restarting it after a crash (waiting cannot fix that).
  if ! wait_for "$timeout" serves_unless_crash_looping; then
    [ -z "$fatal" ] || fail "etcd did not start with configuration $digest: it crash-loops (unit $(unit_is ActiveState)/$(unit_is SubState)): $(journal_tail). Fix the cause (journalctl -u etcd on this host) and run pulumi up again; no other member is changed until then"
    fail "etcd is $state with configuration $digest but does not answer at $client_url: $(journal_tail)"
  fi
  verified
fi
if ! wait_for "$timeout" cluster_problems_without "$name"; then
  fail "refusing to restart etcd: the other members are not healthy: $problems_seen"
fi
if [ "$state" = active ]; then move_leadership_away; fi
switch_release
echo "$name: restarting etcd ($state) with configuration $digest"
run_etcd restart
verified
`;
}
