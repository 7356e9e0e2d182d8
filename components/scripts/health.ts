import { RELEASE_FILES, binary } from "../layout";
import { MemberPlan } from "../plan";
import { shq } from "./remote";

export interface HealthOptions {
    etcdVersion: string;
    /** Every member the cluster should have, in configured order. */
    members: MemberPlan[];
    /** A configuration directory on this host whose server certificate (it carries client_auth) etcdctl presents. */
    certificates: string;
}

/**
 * Bash functions that judge the cluster from a member host. Health is judged on the cluster's actual membership
 * (`member list`), so it holds while members are being added or removed: every started member answers health, all
 * agree on one leader, one raft term and one cluster ID, no alarm is raised, and no voting member waits to be started. A problem that waiting
 * cannot fix (another cluster answering at one of our addresses) sets `fatal`, which ends `wait_for` at once. `fail` prints one line that says which member, what is wrong and what to do, first on stderr
 * (the provider shows the script text before it).
 */
export function healthLibrary(o: HealthOptions & { subject: string }): string {
    const file = (f: string) => `${o.certificates}/${f}`;
    return `etcdctl=${shq(binary(o.etcdVersion, "etcdctl"))}
subject=${shq(o.subject)}
desired=${shq(o.members.map((m) => m.clientUrl).join(","))}
fatal=""
# What the last health judgement found, for messages (judging again could find something else).
problems_seen=""
fail() { printf 'etcd-cluster: %s: %s\\n' "$subject" "$*" >&2; exit 1; }
trap 'printf "etcd-cluster: %s: stopped at line %s: %s\\n" "$subject" "$LINENO" "$BASH_COMMAND" >&2' ERR
ctl() { # endpoints args...
  local eps=$1
  shift
  # An empty list would make etcdctl fall back to localhost.
  if [ -z "$eps" ]; then echo "no endpoint to ask" >&2; return 1; fi
  "$etcdctl" --endpoints="$eps" --cacert=${shq(file(RELEASE_FILES.ca))} --cert=${shq(file(RELEASE_FILES.serverCert))} --key=${shq(file(RELEASE_FILES.serverKey))} \\
    --dial-timeout=2s --command-timeout=5s "$@"
}
# An etcdctl error that waiting can fix: a learner still catching up, or a busy or electing cluster.
transient() { grep -Eqi 'in sync with leader|deadline exceeded|unavailable|leader changed|no leader|timed out' <<<"$1"; }
# etcdctl output on one line, without its client's JSON log lines.
oneline() { grep -v '^{"level"' | tr '\\n' ' '; }
# \`member list -w simple\` lines: id, status, name, peer URL, client URL, is learner.
member_list() { # endpoints
  ctl "$1" member list -w simple 2>/dev/null | at_addresses
}
# Keeps, of the client URLs a member advertises, the one at its peer address: the DNS names it also advertises are
# for clients and need not resolve on the members, so they never decide health. Other lines pass unchanged.
at_addresses() {
  awk -F', ' -v OFS=', ' 'NF < 6 { print; next } {
    host = $4; sub("^[a-z]+://", "", host); sub(/:[0-9]+$/, "", host)
    n = split($5, urls, ",")
    for (i = 1; i <= n; i++) { h = urls[i]; sub("^[a-z]+://", "", h); sub(/:[0-9]+$/, "", h); if (h == host) { $5 = urls[i]; break } }
    print
  }'
}
field() { # n: one field of a simple-format line on stdin
  awk -F', ' -v n="$1" '{ print $n }'
}
# shellcheck disable=SC2317 # called through wait_for
cluster_problems() { cluster_problems_without ""; }
# shellcheck disable=SC2317 # called through wait_for
cluster_problems_without() { # name of a member left out (one about to restart, or down), or ""
  local skip=$1 members eps out status ids leaders terms pending problems=""
  if ! members=$(ctl "$desired" member list -w simple 2>&1); then
    problems_seen="no member answers at $desired: $(oneline <<<"$members")"
    printf '%s\\n' "$problems_seen"
    return 1
  fi
  members=$(at_addresses <<<"$members")
  eps=$(awk -F', ' -v skip="$skip" '$2 == "started" && $5 != "" && $3 != skip { print $5 }' <<<"$members" | paste -sd, -)
  # A voting member that never started counts towards the quorum without serving it (learners do not count). It has
  # no client URL: announced by member add (no name either), or named in the initial cluster of a bootstrap it has
  # not joined yet (etcd lists that one as started).
  pending=$(awk -F', ' '$5 == "" && $6 == "false" { print $4 }' <<<"$members" | paste -sd, -)
  if [ -n "$pending" ]; then problems+="voting members that never started: $pending; "; fi
  if [ -z "$eps" ]; then
    # A single-member cluster: no other member to judge.
    if [ -n "$skip" ] && [ -z "$problems" ] && [ "$(grep -c . <<<"$members")" -eq 1 ]; then problems_seen=""; return 0; fi
    problems_seen="the cluster lists no started member besides $skip"
    printf '%s\\n' "$problems_seen"
    return 1
  fi
  if ! out=$(ctl "$eps" endpoint health 2>&1); then
    problems+="not every member is healthy: $(printf '%s\\n' "$out" | grep -v 'is healthy' | oneline); "
  fi
  status=$(ctl "$eps,$desired" endpoint status -w fields 2>/dev/null || true)
  ids=$(awk -F' : ' '$1 == "\\"ClusterID\\"" { print $2 }' <<<"$status" | sort -u)
  if [ "$(grep -c . <<<"$ids")" -gt 1 ]; then
    fatal="members answer with different cluster IDs ($(paste -sd" " - <<<"$ids")): another etcd cluster runs at one of $desired"
    problems+="$fatal; "
  fi
  leaders=$(awk -F' : ' '$1 == "\\"Leader\\"" { print $2 }' <<<"$status" | sort -u)
  terms=$(awk -F' : ' '$1 == "\\"RaftTerm\\"" { print $2 }' <<<"$status" | sort -u)
  if [ "$(grep -cv '^0$' <<<"$leaders")" -ne 1 ] || grep -qx 0 <<<"$leaders"; then
    problems+="members do not agree on exactly one leader (leader IDs seen: $(paste -sd" " - <<<"$leaders")); "
  fi
  if [ "$(grep -c . <<<"$terms")" -ne 1 ]; then problems+="members are in different raft terms ($(paste -sd" " - <<<"$terms")); "; fi
  if ! out=$(ctl "$eps" alarm list 2>&1 | { grep -v '^{"level"' || true; }) || [ -n "$out" ]; then
    problems+="alarms raised: $(printf '%s\\n' "$out" | oneline); "
  fi
  problems_seen=$problems
  if [ -n "$problems" ]; then printf '%s\\n' "$problems"; return 1; fi
}
wait_for() { # seconds command...: retries until the command succeeds, the time is up, or it found a fatal problem
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    if [ -n "$fatal" ] || [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 2
  done
}
`;
}

export interface GateOptions extends HealthOptions {
    timeoutSeconds: number;
    /** Fail when a certificate expires within this many days. */
    expiryMarginDays: number;
}

/** host:port of an https URL, as openssl's -connect takes it (IPv6 stays bracketed). */
function hostPort(url: string): string {
    return url.replace(/^https:\/\//, "");
}

/**
 * Reads the certificate every configured member serves on its client port (presenting this member's server
 * certificate, verified against the cluster CA) and on its peer port (presenting its peer certificate, verified
 * against the peer trust bundle), plus both CAs, and reports the earliest expiry; fails when that is closer than the
 * margin.
 */
export function certificateExpiryCheck(o: GateOptions): string {
    const path = (f: string) => `${o.certificates}/${f}`;
    const file = (f: string) => shq(path(f));
    const targets = [
        ...o.members.map((m) => `${hostPort(m.clientUrl)}=${path(RELEASE_FILES.serverCert)}=${path(RELEASE_FILES.serverKey)}=${path(RELEASE_FILES.ca)}`),
        ...o.members.map((m) => `${hostPort(m.peerUrl)}=${path(RELEASE_FILES.peerCert)}=${path(RELEASE_FILES.peerKey)}=${path(RELEASE_FILES.peerCa)}`),
    ];
    return `served_end() { # host:port cert key cafile: the served certificate's notAfter, in seconds since the epoch
  local out
  out=$(timeout 15 openssl s_client -connect "$1" -cert "$2" -key "$3" -CAfile "$4" -verify_return_error </dev/null 2>/dev/null) || return 1
  date -d "$(openssl x509 -noout -enddate <<<"$out" | cut -d= -f2)" +%s
}
certificate_expiry() {
  local now end earliest what target hp cert key cafile days
  if ! command -v openssl >/dev/null; then echo "openssl is needed on this host to read the members' certificate expiry; install it" >&2; return 1; fi
  now=$(date +%s)
  earliest=$(date -d "$(openssl x509 -noout -enddate -in ${file(RELEASE_FILES.ca)} | cut -d= -f2)" +%s)
  what="the CA"
  # The first certificate in the peer trust bundle is the peer CA (the cluster CA follows it only during peerCaMigration).
  end=$(date -d "$(openssl x509 -noout -enddate -in ${file(RELEASE_FILES.peerCa)} | cut -d= -f2)" +%s)
  if [ "$end" -lt "$earliest" ]; then earliest=$end; what="the peer CA"; fi
  for target in ${targets.map(shq).join(" ")}; do
    IFS='=' read -r hp cert key cafile <<<"$target"
    if ! end=$(served_end "$hp" "$cert" "$key" "$cafile"); then echo "cannot read the certificate served on $hp" >&2; return 1; fi
    if [ "$end" -lt "$earliest" ]; then earliest=$end; what="the certificate served on $hp"; fi
  done
  days=$(( (earliest - now) / 86400 ))
  echo "earliest certificate expiry: $(date -u -d "@$earliest" +%Y-%m-%dT%H:%M:%SZ), $what, in $days days"
  if [ $(( earliest - now )) -lt $(( ${o.expiryMarginDays} * 86400 )) ]; then
    echo "$what expires in $days days, within etcd-cluster:certExpiryMarginDays (${o.expiryMarginDays}); run pulumi up to renew it, or change etcd-cluster:certRotation" >&2
    return 1
  fi
}
`;
}

/**
 * The cluster health gate: waits (bounded) for a healthy cluster whose membership is exactly the configured members,
 * all voting, then checks certificate expiry; or fails the update saying what is wrong.
 */
export function renderGateScript(o: GateOptions): string {
    return `set -euo pipefail
${healthLibrary({ ...o, subject: "cluster health gate" })}
${certificateExpiryCheck(o)}
want=${shq(o.members.map((m) => `${m.name} ${m.peerUrl}`).join("\n"))}
membership_problems() {
  local members have
  members=$(member_list "$desired") || { echo "no member answers at $desired"; return 1; }
  have=$(awk -F', ' '$2 == "started" && $6 == "false" { print $3 " " $4 }' <<<"$members" | sort)
  if [ "$have" != "$(sort <<<"$want")" ]; then
    printf 'voting members are [%s], configured are [%s]\\n' "$(paste -sd, <<<"$have")" "$(sort <<<"$want" | paste -sd, -)"
    return 1
  fi
}
gate() { cluster_problems && membership_problems; }
if ! wait_for ${o.timeoutSeconds} gate; then
  fail "the etcd cluster is not healthy$([ -n "$fatal" ] || echo " after ${o.timeoutSeconds}s"): $(cluster_problems || true) $(membership_problems || true)"
fi
ctl "$desired" endpoint status -w table
echo "etcd cluster is healthy: ${o.members.length} voting members as configured, one leader, one raft term, no alarms"
certificate_expiry
`;
}
