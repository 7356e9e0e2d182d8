import { DEFRAG } from "../defrag";
import { APPLIED_STAMP, walPath } from "../layout";
import { MemberPlan } from "../plan";
import { healthLibrary, HealthOptions } from "./health";
import { shq } from "./remote";

/**
 * The membership survey, run on one configured host before any member starts or restarts. It prints `existing` when
 * the cluster answers and `new` only when no etcd runs at any configured address and this host holds no etcd data:
 * the members' apply steps may bootstrap a new cluster only then, so added members can never form a second cluster
 * beside the first. A cluster that exists but cannot answer fails the update at once. When the cluster answers, it
 * also makes the etcd user of every configured member that has none (see the auth step), so a new member can join.
 */
export function renderSurveyScript(o: HealthOptions & { dataDir: string }): string {
    return `set -euo pipefail
${healthLibrary({ ...o, subject: "membership survey" })}
if members=$(member_list "$desired"); then
  printf 'the cluster answers; its members:\\n%s\\n' "$members" >&2
  # With authentication on, a member announces and promotes itself as its own etcd user (its certificate's CN),
  # which the auth step makes only after every member has applied: a new member's user is made here, beforehand.
  for user in ${o.members.map((m) => shq(m.name)).join(" ")}; do
    if ctl "$desired" user get "$user" >/dev/null 2>&1; then continue; fi
    out=$(ctl "$desired" user add "$user" --no-password 2>&1 && ctl "$desired" user grant-role "$user" root 2>&1) ||
      fail "cannot create the etcd user of member $user, which a new member needs to join a cluster with authentication on: $(oneline <<<"$out"). List an existing member first in etcd-cluster:hosts (this step runs on the first), then run pulumi up again"
    echo "created the etcd user of member $user (role root), so that it can join" >&2
  done
  echo existing
  exit 0
fi
listening=""
for url in \${desired//,/ }; do
  hostport=\${url#https://}
  host=\${hostport%:*}
  host=\${host#[}
  host=\${host%]}
  # shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
  if timeout 2 bash -c ': < "/dev/tcp/$1/$2"' probe "$host" "\${hostport##*:}" 2>/dev/null; then listening+="$url "; fi
done
if [ -n "$listening" ]; then
  fail "etcd listens at $listening but no member answers (the cluster has no quorum); bring its members back (journalctl -u etcd on their hosts), then run pulumi up again"
fi
if [ -d ${shq(`${o.dataDir}/member`)} ]; then
  fail "this host holds etcd data in ${o.dataDir} but etcd runs nowhere; start etcd on the members (systemctl start etcd), then run pulumi up again"
fi
echo "no etcd runs at any configured address and this host holds no etcd data: a new cluster will be bootstrapped" >&2
echo new
`;
}

/**
 * The membership reconcile, run on a healthy configured member after every member has applied its configuration:
 * promotes configured learners that a cut-short run left behind, then removes every member that is not configured,
 * one at a time, each only when the members that stay include a healthy majority of the current voting members, with
 * leadership moved off it first. A removed member's etcd stops by itself; its data stays on its host.
 */
export function renderReconcileScript(o: HealthOptions & { timeoutSeconds: number }): string {
    return `set -euo pipefail
${healthLibrary({ ...o, subject: "membership reconcile" })}
want=${shq(o.members.map((m: MemberPlan) => `${m.name} ${m.peerUrl}`).join("\n"))}
timeout=${o.timeoutSeconds}
current_members() { member_list "$desired" || fail "no member answers at $desired; bring the cluster back, then run pulumi up again"; }
# A member announced but never started has no name yet: its address says who it is.
is_wanted() { awk -v n="$1" -v p="$2" '$2 == p && (n == "" || $1 == n) { found = 1 } END { exit !found }' <<<"$want"; }

while IFS= read -r line; do
  [ -n "$line" ] || continue
  id=$(field 1 <<<"$line")
  deadline=$((SECONDS + timeout))
  until out=$(ctl "$desired" member promote "$id" 2>&1); do
    transient "$out" || fail "cannot promote learner $(field 3 <<<"$line"): $(oneline <<<"$out")"
    [ "$SECONDS" -lt "$deadline" ] || fail "learner $(field 3 <<<"$line") did not catch up with the leader within \${timeout}s; run pulumi up again"
    sleep 2
  done
  echo "promoted learner $(field 3 <<<"$line")"
done < <(current_members | while IFS= read -r m; do
  if [ "$(field 2 <<<"$m")" = started ] && [ "$(field 6 <<<"$m")" = true ] && is_wanted "$(field 3 <<<"$m")" "$(field 4 <<<"$m")"; then echo "$m"; fi
done)

removed=0
while :; do
  members=$(current_members)
  departing=""
  while IFS= read -r m; do
    if ! is_wanted "$(field 3 <<<"$m")" "$(field 4 <<<"$m")"; then departing=$m; break; fi
  done <<<"$members"
  [ -n "$departing" ] || break
  id=$(field 1 <<<"$departing")
  label="$(field 3 <<<"$departing") ($id, $(field 4 <<<"$departing"))"
  if [ "$(field 6 <<<"$departing")" = false ]; then
    voters=$(awk -F', ' '$6 == "false"' <<<"$members" | grep -c .)
    remaining=$((voters - 1))
    healthy=0
    while read -r url; do
      if ctl "$url" endpoint health >/dev/null 2>&1; then healthy=$((healthy + 1)); fi
    done < <(awk -F', ' -v id="$id" '$6 == "false" && $1 != id && $5 != "" { print $5 }' <<<"$members")
    if [ "$healthy" -lt $((voters / 2 + 1)) ] && [ "$healthy" -lt "$remaining" ]; then
      fail "refusing to remove $label: of the $remaining voting members that would stay only $healthy are healthy, fewer than a majority of the current $voters; bring the unhealthy members back first, then run pulumi up again"
    fi
    leader_url=$(field 5 <<<"$departing")
    if [ -n "$leader_url" ] && [ "$(ctl "$leader_url" endpoint status -w simple 2>/dev/null | field 5)" = true ]; then
      while read -r target url; do
        if ctl "$url" endpoint health >/dev/null 2>&1 && ctl "$leader_url" move-leader "$target" >/dev/null 2>&1; then
          echo "moved leadership from $label to the member at $url"
          break
        fi
      done < <(awk -F', ' -v id="$id" '$2 == "started" && $6 == "false" && $1 != id { print $1, $5 }' <<<"$members")
    fi
  fi
  out=$(ctl "$desired" member remove "$id" 2>&1) || fail "cannot remove $label: $(oneline <<<"$out")"
  echo "removed $label from the cluster; its etcd stops by itself and its data stays on its host"
  removed=$((removed + 1))
  if ! wait_for "$timeout" cluster_problems; then fail "after removing $label the cluster is not healthy: $problems_seen"; fi
done
echo "membership is as configured ($removed member(s) removed)"
`;
}

/**
 * What a host that left the configuration does, run as the `delete` of its `<member>-retire` step (so it runs only on
 * a host still reachable when the engine deletes that step, after the reconcile has removed the member). Best
 * effort and never harmful: only when another member answers and the cluster no longer lists this host's member is
 * etcd stopped and disabled and its data and WAL moved aside (never deleted); otherwise it says why and changes
 * nothing. Membership itself never depends on this step.
 */
export function renderRetireScript(o: HealthOptions & { member: MemberPlan; dataDir: string; walDir: string }): string {
    const others = o.members.filter((m) => m.name !== o.member.name);
    return `set -euo pipefail
${healthLibrary({ ...o, members: others, subject: `retiring ${o.member.name}` })}
name=${shq(o.member.name)}
peer_url=${shq(o.member.peerUrl)}
data=${shq(`${o.dataDir}/member`)}
wal=${shq(walPath(o.walDir))}
if [ ! -d "$data" ] && ! systemctl is-active --quiet etcd.service; then
  echo "$name: no etcd data and etcd is not running here; nothing to retire"
  exit 0
fi
if ! members=$(member_list "$desired") || [ -z "$members" ]; then
  echo "$name: left the configuration, but no other member answers at $desired, so whether it left the cluster cannot be told: etcd and its data are left as they are. Once etcdctl member list no longer shows $name: systemctl disable --now etcd; mv $data $data.removed-\\$(date +%F)" >&2
  exit 0
fi
if awk -F', ' -v p="$peer_url" '$4 == p { found = 1 } END { exit !found }' <<<"$members"; then
  echo "$name: left the configuration but is still a member of the cluster; etcd is left running" >&2
  exit 0
fi
systemctl disable --now --quiet etcd.service
if systemctl is-enabled --quiet ${DEFRAG.timerUnit}; then systemctl disable --now --quiet ${DEFRAG.timerUnit}; fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
for dir in "$data" "$wal"; do
  if [ -e "$dir" ]; then mv -- "$dir" "$dir.removed-$stamp"; echo "$name: moved $dir aside to $dir.removed-$stamp (never deleted)"; fi
done
rm -f ${shq(APPLIED_STAMP)}
echo "$name: removed from the cluster: etcd stopped and disabled"
`;
}
