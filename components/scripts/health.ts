import { PKI, binary } from "../layout";
import { shq } from "./remote";

export interface HealthOptions {
    etcdVersion: string;
    /** Client URLs of every member the cluster must have. */
    endpoints: string[];
}

/**
 * Bash functions that judge cluster health from a member host, using that member's server certificate (it carries
 * client_auth). `cluster_problems` prints what is wrong and fails; healthy means: every member answers health, the
 * cluster has exactly the expected members, all agree on one leader and one raft term, and no alarm is raised.
 */
export function healthLibrary(o: HealthOptions): string {
    return `etcdctl=${shq(binary(o.etcdVersion, "etcdctl"))}
endpoints=${shq(o.endpoints.join(","))}
expected_members=${o.endpoints.length}
ctl() { # endpoints args...
  local eps=$1
  shift
  "$etcdctl" --endpoints="$eps" --cacert=${PKI.ca} --cert=${PKI.serverCert} --key=${PKI.serverKey} \\
    --dial-timeout=3s --command-timeout=5s "$@"
}
# One line of etcdctl output without its client's JSON log lines.
oneline() { grep -v '^{"level"' | tr '\\n' ' '; }
cluster_problems() {
  local out status leaders terms members problems=""
  if ! out=$(ctl "$endpoints" endpoint health 2>&1); then
    problems+="not every member is healthy: $(printf '%s\\n' "$out" | grep -v 'is healthy' | oneline); "
  fi
  if status=$(ctl "$endpoints" endpoint status -w fields 2>&1); then
    leaders=$(printf '%s\\n' "$status" | awk -F' : ' '$1 == "\\"Leader\\"" { print $2 }' | sort -u)
    terms=$(printf '%s\\n' "$status" | awk -F' : ' '$1 == "\\"RaftTerm\\"" { print $2 }' | sort -u)
    if [ "$(printf '%s\\n' "$leaders" | grep -cv '^0$')" -ne 1 ] || grep -qx 0 <<<"$leaders"; then
      problems+="members do not agree on exactly one leader (leader IDs seen: $(printf '%s' "$leaders" | tr '\\n' ' ')); "
    fi
    if [ "$(printf '%s\\n' "$terms" | grep -c .)" -ne 1 ]; then
      problems+="members are in different raft terms ($(printf '%s' "$terms" | tr '\\n' ' ')); "
    fi
  else
    problems+="endpoint status failed: $(printf '%s\\n' "$status" | oneline); "
  fi
  if members=$(ctl "$endpoints" member list -w simple 2>&1); then
    if [ "$(printf '%s\\n' "$members" | grep -c ', started, ')" -ne "$expected_members" ]; then
      problems+="expected $expected_members started members, the cluster lists: $(printf '%s' "$members" | tr '\\n' ';'); "
    fi
  else
    problems+="member list failed: $(printf '%s\\n' "$members" | oneline); "
  fi
  if ! out=$(ctl "$endpoints" alarm list 2>&1 | { grep -v '^{"level"' || true; }) || [ -n "$out" ]; then
    problems+="alarms raised: $(printf '%s\\n' "$out" | oneline); "
  fi
  if [ -n "$problems" ]; then printf '%s\\n' "$problems"; return 1; fi
}
member_healthy() { # client URL of one member
  ctl "$1" endpoint health >/dev/null 2>&1
}
wait_for() { # seconds command...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 2
  done
}
`;
}

export interface GateOptions extends HealthOptions {
    timeoutSeconds: number;
    /** Peer URLs of every member: their certificates are read there. */
    peerUrls: string[];
    /** Fail when a certificate expires within this many days. */
    expiryMarginDays: number;
}

/** host:port of an https URL, as openssl's -connect takes it (IPv6 stays bracketed). */
function hostPort(url: string): string {
    return url.replace(/^https:\/\//, "");
}

/**
 * Reads the certificate every member serves on its client port (presenting this member's server certificate,
 * verified against the cluster CA) and on its peer port (presenting its peer certificate, verified against the peer
 * trust bundle), plus both CAs, and reports the earliest expiry; fails when that is closer than the margin.
 */
export function certificateExpiryCheck(o: GateOptions): string {
    return `served_end() { # host:port cert key cafile: the served certificate's notAfter, in seconds since the epoch
  local out
  out=$(timeout 15 openssl s_client -connect "$1" -cert "$2" -key "$3" -CAfile "$4" -verify_return_error </dev/null 2>/dev/null) || return 1
  date -d "$(openssl x509 -noout -enddate <<<"$out" | cut -d= -f2)" +%s
}
certificate_expiry() {
  local now end earliest what target hp cert key cafile days
  if ! command -v openssl >/dev/null; then echo "openssl is needed on this host to read the members' certificate expiry; install it" >&2; return 1; fi
  now=$(date +%s)
  earliest=$(date -d "$(openssl x509 -noout -enddate -in ${PKI.ca} | cut -d= -f2)" +%s)
  what="the CA"
  # The first certificate in the peer trust bundle is the peer CA (the cluster CA follows it only during peerCaMigration).
  end=$(date -d "$(openssl x509 -noout -enddate -in ${PKI.peerCa} | cut -d= -f2)" +%s)
  if [ "$end" -lt "$earliest" ]; then earliest=$end; what="the peer CA"; fi
  for target in ${[...o.endpoints.map((u) => `${hostPort(u)}=${PKI.serverCert}=${PKI.serverKey}=${PKI.ca}`), ...o.peerUrls.map((u) => `${hostPort(u)}=${PKI.peerCert}=${PKI.peerKey}=${PKI.peerCa}`)].map(shq).join(" ")}; do
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

/** The cluster health gate: waits (bounded) for a healthy cluster, or fails the update saying what is wrong. */
export function renderGateScript(o: GateOptions): string {
    return `set -euo pipefail
${healthLibrary(o)}
${certificateExpiryCheck(o)}
if ! wait_for ${o.timeoutSeconds} cluster_problems; then
  echo "etcd cluster is not healthy after ${o.timeoutSeconds}s: $(cluster_problems || true)" >&2
  exit 1
fi
ctl "$endpoints" endpoint status -w table
echo "etcd cluster is healthy: $expected_members members, one leader, one raft term, no alarms"
certificate_expiry
`;
}
