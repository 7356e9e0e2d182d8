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

/** The cluster health gate: waits (bounded) for a healthy cluster, or fails the update saying what is wrong. */
export function renderGateScript(o: HealthOptions & { timeoutSeconds: number }): string {
    return `set -euo pipefail
${healthLibrary(o)}
if ! wait_for ${o.timeoutSeconds} cluster_problems; then
  echo "etcd cluster is not healthy after ${o.timeoutSeconds}s: $(cluster_problems || true)" >&2
  exit 1
fi
ctl "$endpoints" endpoint status -w table
echo "etcd cluster is healthy: $expected_members members, one leader, one raft term, no alarms"
`;
}
