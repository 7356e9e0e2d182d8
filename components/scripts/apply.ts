import { APPLIED_STAMP, ENV_FILE, PKI, UNIT_FILE } from "../layout";
import { healthLibrary, HealthOptions } from "./health";
import { shq } from "./remote";

export interface ApplyOptions extends HealthOptions {
    memberName: string;
    clientUrl: string;
    dataDir: string;
    /** Changes whenever the member's files change, so the engine runs this step again. */
    configurationDigest: string;
    timeoutSeconds: number;
}

/** Files whose change requires a restart. The bootstrap environment is left out on purpose: etcd ignores it once it has data. */
export const RESTART_FILES = [UNIT_FILE, ENV_FILE, PKI.ca, PKI.serverCert, PKI.serverKey, PKI.peerCert, PKI.peerKey, PKI.peerCa];

/**
 * Starts or restarts etcd only when needed. A member with nothing running starts without waiting (at bootstrap no
 * member can be ready before a quorum runs), unless it has data and the other members have a leader: then it is a
 * member coming back (a replaced or restarted machine) and the step waits until it and the cluster are healthy, so
 * the next machine change waits for it. A running member whose files changed since it started is restarted only
 * when the whole cluster is healthy, and the step returns only once the member and the cluster are healthy again:
 * chained member after member, this is the rolling restart.
 */
export function renderApplyScript(o: ApplyOptions): string {
    return `set -euo pipefail
# Apply configuration ${o.configurationDigest} to etcd member ${o.memberName}.
${healthLibrary(o)}
name=${shq(o.memberName)}
stamp=${shq(APPLIED_STAMP)}
current=$(cat ${RESTART_FILES.join(" ")} | sha256sum | cut -d' ' -f1)
applied=$(cat "$stamp" 2>/dev/null || true)
client_url=${shq(o.clientUrl)}
# A member with data whose peers have a leader is coming back into a running cluster: wait until it has.
rejoining() {
  local others
  [ -d ${shq(`${o.dataDir}/member`)} ] || return 1
  others=$(tr ',' '\\n' <<<"$endpoints" | grep -vxF "$client_url" | paste -sd, -)
  [ -n "$others" ] || return 1
  { ctl "$others" endpoint status -w fields 2>/dev/null || true; } | awk -F' : ' '$1 == "\\"Leader\\"" && $2 != 0 { found = 1 } END { exit !found }'
}
wait_rejoined() {
  if ! wait_for ${o.timeoutSeconds} member_healthy "$client_url"; then
    echo "$name is back but not healthy after ${o.timeoutSeconds}s; see journalctl -u etcd" >&2
    exit 1
  fi
  if ! wait_for ${o.timeoutSeconds} cluster_problems; then
    echo "$name is back but the cluster is not healthy: $(cluster_problems || true)" >&2
    exit 1
  fi
  echo "$name: back in the cluster; the member and the cluster are healthy"
}
state=$(systemctl is-active etcd.service || true)
if [ "$current" = "$applied" ] && { [ "$state" = active ] || [ "$state" = activating ]; }; then
  echo "$name: etcd is $state with the current configuration; nothing to do"
  if [ "$state" = activating ] && rejoining; then wait_rejoined; fi
  exit 0
fi
if [ "$state" != active ]; then
  if [ -d ${shq(`${o.dataDir}/member`)} ]; then echo "$name: starting etcd ($state)"; else echo "$name: bootstrap: starting etcd without waiting for the other members"; fi
  systemctl restart --no-block etcd.service
  printf '%s\\n' "$current" > "$stamp"
  if rejoining; then wait_rejoined; fi
  exit 0
fi
echo "$name: configuration changed; checking the cluster before restarting this member"
if ! wait_for 60 cluster_problems; then
  echo "refusing to restart $name: the cluster is not healthy: $(cluster_problems || true)" >&2
  exit 1
fi
if ! systemctl restart etcd.service; then
  echo "$name: etcd failed to restart; see journalctl -u etcd on this host" >&2
  exit 1
fi
printf '%s\\n' "$current" > "$stamp"
if ! wait_for ${o.timeoutSeconds} member_healthy ${shq(o.clientUrl)}; then
  echo "$name restarted but is not healthy after ${o.timeoutSeconds}s; see journalctl -u etcd" >&2
  exit 1
fi
if ! wait_for ${o.timeoutSeconds} cluster_problems; then
  echo "$name restarted but the cluster is not healthy: $(cluster_problems || true)" >&2
  exit 1
fi
echo "$name: restarted and healthy"
`;
}
