import { PREFLIGHT_RECORD } from "../layout";
import { shq } from "./remote";

export const PREFLIGHT_CHECKS = ["fsync", "timeSync", "freeSpace"] as const;
export type PreflightCheck = (typeof PREFLIGHT_CHECKS)[number];

export interface PreflightSettings {
    /** The WAL disk's 99th percentile fdatasync latency must stay under this (etcd's hardware guide: 10 ms). */
    walFsyncP99Ms: number;
    /** Checks an operator has waived, each with the reason. */
    waive: Partial<Record<PreflightCheck, string>>;
}

export interface PreflightOptions extends PreflightSettings {
    memberName: string;
    dataDir: string;
    walDir: string;
    /** Room the data disk must offer etcd (free plus what etcd's data already uses there). */
    requiredDataBytes: number;
    /** Only tests point this elsewhere. */
    record?: string;
}

/** What the step measured, as the last line of its output says it (and a later run repeats it). */
export interface PreflightFigures {
    walFsyncP99Ms: number | null;
    timeService: string;
    dataAvailableBytes: number;
    checkedAt: string;
}

export const PREFLIGHT_RESULT_PREFIX = "preflight-result ";
/**
 * fio as etcd's guide runs it (sequential 2300-byte writes, fdatasync after each), but over 4 MiB (about 1,800
 * syncs) instead of 22 MiB, so a slow disk cannot hold a deployment for minutes; 60 s at most.
 */
export const FIO_SIZE = "4m";
const FIO_RUNTIME_SECONDS = 60;
/** The data disk needs the backend quota plus a quarter: a full backend then leaves a fifth of that free (the guides' 80 % rule). */
export function requiredDataBytes(quotaBackendBytes: number): number {
    return Math.ceil(quotaBackendBytes * 1.25);
}

export function parsePreflightFigures(stdout: string): PreflightFigures | undefined {
    const line = stdout.split("\n").reverse().find((l) => l.startsWith(PREFLIGHT_RESULT_PREFIX));
    return line ? JSON.parse(line.slice(PREFLIGHT_RESULT_PREFIX.length)) as PreflightFigures : undefined;
}

/**
 * The checks etcd's guides ask for before a member first starts on a machine: the WAL disk's fdatasync latency
 * (fio), a running and synchronised time service, and room on the data disk for the backend quota. Every check is
 * measured and reported; a failed one that is not waived stops the step (and so this member) with the figure.
 * The figures are recorded on the machine: later runs repeat them without measuring again, so the checks run once
 * per machine (a replaced or rebuilt machine is checked again), and never gate a member that already runs.
 */
export function renderMachineChecksScript(o: PreflightOptions): string {
    const waived = (check: PreflightCheck) => o.waive[check] !== undefined ? 1 : 0;
    return `set -euo pipefail
shopt -s inherit_errexit
# Preflight checks of etcd member ${o.memberName}. Waived: ${PREFLIGHT_CHECKS.filter((c) => o.waive[c] !== undefined).map((c) => `${c} (${o.waive[c]!.replace(/\n/g, " ")})`).join(", ") || "none"}.
member=${shq(o.memberName)}
record=${shq(o.record ?? PREFLIGHT_RECORD)}
data_dir=${shq(o.dataDir)}
wal_dir=${shq(o.walDir)}
threshold_ms=${o.walFsyncP99Ms}
required_bytes=${o.requiredDataBytes}
waive_fsync=${waived("fsync")}
waive_time=${waived("timeSync")}
waive_space=${waived("freeSpace")}
if [ -f "$record" ]; then
  echo "$member: preflight checks ran before etcd first started on this machine; their figures:"
  echo "${PREFLIGHT_RESULT_PREFIX}$(cat "$record")"
  exit 0
fi
# The filesystem a directory will be on, even before it exists.
existing() { # path
  local d=$1
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  echo "$d"
}
# Text for a JSON string: no quotes, backslashes or control characters.
plain() { tr -d '"\\\\\\000-\\037'; }
problems=()
check_failed() { # waived message
  if [ "$1" -eq 1 ]; then echo "$member: waived: $2"; else problems+=("$2"); fi
}

p99=null
if ! command -v fio >/dev/null; then
  check_failed "$waive_fsync" "fio is not installed, so the WAL disk's fdatasync latency cannot be measured: install it (apt-get install fio, dnf install fio) or waive etcd-cluster:preflight.waive.fsync"
else
  dir=$(existing "$wal_dir")
  out=$(mktemp)
  trap 'rm -f "$out" "$dir/etcd-cluster-preflight.0.0"' EXIT
  fio --rw=write --ioengine=sync --fdatasync=1 --directory="$dir" --size=${FIO_SIZE} --bs=2300 --runtime=${FIO_RUNTIME_SECONDS} \\
    --name=etcd-cluster-preflight --unlink=1 >"$out" 2>&1 || { echo "fio failed in $dir: $(tail -n 5 "$out")" >&2; exit 1; }
  # "sync percentiles (usec):" then "| 99.00th=[15533]" in fio's normal output, in nsec, usec or msec.
  p99=$(awk '
    /sync percentiles \\(/ { on = 1; unit = $0; sub(/.*\\(/, "", unit); sub(/\\).*/, "", unit); next }
    on && /99\\.00th=\\[/ {
      v = $0; sub(/.*99\\.00th=\\[ */, "", v); sub(/\\].*/, "", v)
      printf "%.3f", v * (unit == "nsec" ? 0.000001 : unit == "usec" ? 0.001 : 1); exit
    }' "$out")
  [ -n "$p99" ] || { echo "fio reported no fdatasync percentiles: $(tail -n 20 "$out")" >&2; exit 1; }
  echo "$member: WAL disk ($dir): fdatasync p99 $p99 ms (threshold $threshold_ms ms)"
  if awk -v p="$p99" -v t="$threshold_ms" 'BEGIN { exit !(p >= t) }'; then
    check_failed "$waive_fsync" "the WAL disk ($dir) is too slow for etcd: fdatasync p99 is $p99 ms, the threshold is $threshold_ms ms (etcd-cluster:preflight.walFsyncP99Ms); put walDir on a faster disk or waive etcd-cluster:preflight.waive.fsync"
  fi
fi

synced=0
if out=$(timedatectl show -p NTP -p NTPSynchronized 2>/dev/null); then
  ntp=$(sed -n 's/^NTP=//p' <<<"$out")
  sync=$(sed -n 's/^NTPSynchronized=//p' <<<"$out")
  time_service="timedatectl: time service active: \${ntp:-unknown}, clock synchronised: \${sync:-unknown}"
  if [ "$ntp" = yes ] && [ "$sync" = yes ]; then synced=1; fi
elif command -v chronyc >/dev/null; then
  leap=$(chronyc -n tracking 2>&1 | sed -n 's/^Leap status *: //p' || true)
  time_service="chronyc: leap status \${leap:-unknown (chronyd not answering)}"
  if [ "$leap" = Normal ]; then synced=1; fi
elif command -v ntpstat >/dev/null; then
  if ntpstat >/dev/null 2>&1; then synced=1; time_service="ntpstat: synchronised"; else time_service="ntpstat: not synchronised"; fi
else
  time_service="no time service found (timedatectl does not answer; neither chronyc nor ntpstat is installed)"
fi
time_service=$(plain <<<"$time_service")
echo "$member: $time_service"
if [ "$synced" -eq 0 ]; then
  check_failed "$waive_time" "no time service is running with a synchronised clock ($time_service); etcd needs the members' clocks in step: run chrony, ntpd or systemd-timesyncd, or waive etcd-cluster:preflight.waive.timeSync"
fi

dir=$(existing "$data_dir")
free=$(df -B1 --output=avail "$dir" | tail -n 1 | tr -d ' ')
used=0
if [ -d "$data_dir/member" ]; then used=$(du -sB1 "$data_dir/member" | cut -f1); fi
available=$((free + used))
echo "$member: data disk ($dir): $available bytes for etcd ($free free + $used already etcd's), $required_bytes needed"
if [ "$available" -lt "$required_bytes" ]; then
  check_failed "$waive_space" "the data disk ($dir) offers etcd $available bytes ($free free + $used already etcd's), less than the $required_bytes it needs (1.25 x etcd-cluster:quotaBackendBytes); give it a larger disk, lower the quota, or waive etcd-cluster:preflight.waive.freeSpace"
fi

if [ "\${#problems[@]}" -gt 0 ]; then
  if systemctl is-active --quiet etcd.service 2>/dev/null; then
    echo "$member: etcd already runs on this machine, so these are reported, not enforced: \${problems[*]}"
  else
    echo "$member: preflight failed; etcd is not started on this machine:" >&2
    printf '  - %s\\n' "\${problems[@]}" >&2
    exit 1
  fi
fi
install -d -m 700 "$(dirname "$record")"
printf '{"walFsyncP99Ms":%s,"timeService":"%s","dataAvailableBytes":%s,"checkedAt":"%s"}\\n' "$p99" "$time_service" "$available" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$record.tmp"
mv -f "$record.tmp" "$record"
echo "${PREFLIGHT_RESULT_PREFIX}$(cat "$record")"
`;
}
