import { CURRENT_LINK, PKI, STATE_DIR, UPLOAD_DIR, walPath } from "../layout";
import { MemberPlan } from "../plan";
import { healthLibrary } from "./health";
import { shq } from "./remote";

/**
 * Restoring a cluster from a snapshot, in three steps: on every member the uploaded snapshot is checked (SHA-256,
 * `etcdutl snapshot status`, and a trial restore, which verifies the integrity hash `etcdctl snapshot save` appends)
 * before anything changes; then every member, at once, stops etcd, moves its old data aside (never deleting it) and
 * restores the snapshot as a member of a new cluster; then one gate waits for that cluster and records the restore
 * in it, so a member added later joins the restored cluster instead of restoring again.
 */

/**
 * How far revisions jump past the snapshot's: more than the writes the lost cluster can have made after the snapshot
 * was taken, so clients that watched it (kube-apiserver's watch cache, informers) never see a revision go backwards.
 * etcd's and Kubernetes' restore guides use one billion: days of writes at 10,000 per second; revisions are 64-bit.
 */
export const BUMP_REVISION = 1_000_000_000;
/** The key the restore gate writes into the restored cluster: the restore it came from. */
export const RESTORED_KEY = "etcd-cluster/restored";

/** Where the restore keeps its files on a host; tests point them at a scratch directory. */
export interface RestorePaths {
    /** The restore key of the data this member holds, written once its data is in place. */
    marker: string;
    /** Checked snapshots, private to root. */
    dir: string;
    uploadDir: string;
}

export const RESTORE_PATHS: RestorePaths = { marker: `${STATE_DIR}/restored`, dir: `${STATE_DIR}/restore`, uploadDir: UPLOAD_DIR };

export function uploadedSnapshotPath(snapshotSha256: string, paths: RestorePaths = RESTORE_PATHS): string {
    return `${paths.uploadDir}/etcd-restore-${snapshotSha256.slice(0, 16)}.db`;
}

export interface RestoreStepOptions {
    memberName: string;
    /** The snapshot's SHA-256 and the restore key (components/config/restore.ts). */
    snapshotSha256: string;
    key: string;
    etcdutl: string;
    paths?: RestorePaths;
}

export interface RestoreMemberOptions extends RestoreStepOptions {
    etcdctl: string;
    dataDir: string;
    walDir: string;
    peerUrl: string;
    /** Every member's client URL: asked whether the cluster already runs this restore. */
    endpoints: string[];
    initialCluster: string;
    /** The restored cluster's token: new, so its members can never mix with the cluster it replaces. */
    clusterToken: string;
}

function common(o: RestoreStepOptions): string {
    const p = o.paths ?? RESTORE_PATHS;
    return `name=${shq(o.memberName)}
key=${shq(o.key)}
sha=${shq(o.snapshotSha256)}
marker=${shq(p.marker)}
dir=${shq(p.dir)}
file="$dir/$sha.db"
etcdutl=${shq(o.etcdutl)}
fail() { printf 'etcd-cluster: restore on %s: %s\\n' "$name" "$*" >&2; exit 1; }
oneline() { grep -v '^{"level"' | tr '\\n' ' '; }
if [ "$(cat "$marker" 2>/dev/null || true)" = "$key" ]; then
  echo "$name: holds the data of restore $key already; nothing to do"
  exit 0
fi`;
}

/** The line a resolve step ends with: the snapshot it chose and the SHA-256 the store's checksum file gives. */
export function parseResolvedSnapshot(stdout: string): { path: string; sha256: string } | undefined {
    const m = /^snapshot (\S+) ([0-9a-f]{64})$/.exec(stdout.trim().split("\n").pop() ?? "");
    return m ? { path: m[1], sha256: m[2] } : undefined;
}

/** The start of a step that reads the backup store: the read credentials from standard input into a private scratch dir. */
function storeReading(storeRead: string): string {
    return `work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The store's read credentials arrive on standard input and live only as long as this step.
( umask 077 && cat > "$work/credentials" )
[ -s "$work/credentials" ] || { echo "etcd-cluster: no store credentials on standard input" >&2; exit 1; }
${storeRead}`;
}

export interface RestoreResolveOptions {
    /** `latest` or a snapshot path in the store. */
    snapshot: string;
    id: string;
    /** Bash defining store_resolve and store_get (components/backup/storeReader.ts). */
    storeRead: string;
    storeDescription: string;
}

/**
 * Says which snapshot of the store the restore takes, with the SHA-256 its checksum file holds; reads nothing else.
 * Runs once per request and restoreId: `latest` is resolved then, and stays what it was on later runs.
 */
export function renderRestoreResolveScript(o: RestoreResolveOptions): string {
    return `set -euo pipefail
# Which snapshot store:${o.snapshot} is, in ${o.storeDescription} (restoreId '${o.id}').
${storeReading(o.storeRead)}
fail() { printf 'etcd-cluster:restoreFrom: store:%s: %s\n' ${shq(o.snapshot)} "$*" >&2; exit 1; }
out=$(store_resolve ${shq(o.snapshot)} 2>&1) || fail "the store ${o.storeDescription} does not give it: $(tr '\n' ' ' <<<"$out"). Nothing was changed"
line=$(grep -E '^snapshot [^ ]+ [0-9a-f]{64}$' <<<"$out" | tail -n1 || true)
[ -n "$line" ] || fail "the store answered '$(tr '\n' ' ' <<<"$out")', not a snapshot and its SHA-256. Nothing was changed"
echo "$line"
`;
}

export interface RestoreFetchOptions extends Omit<RestoreStepOptions, "etcdutl"> {
    /** The snapshot's path in the store, as resolved. */
    storePath: string;
    storeRead: string;
}

/**
 * Fetches the resolved snapshot from the store to where the check step reads an uploaded one, and refuses it unless
 * its SHA-256 is the one the store's checksum file gave: a snapshot altered or damaged in the store or on the way
 * never gets further. Changes nothing of etcd's.
 */
export function renderRestoreFetchScript(o: RestoreFetchOptions): string {
    const p = o.paths ?? RESTORE_PATHS;
    return `set -euo pipefail
# Fetch snapshot ${o.storePath} (${o.snapshotSha256}) from the backup store to etcd member ${o.memberName} (restore ${o.key}).
name=${shq(o.memberName)}
key=${shq(o.key)}
sha=${shq(o.snapshotSha256)}
fail() { printf 'etcd-cluster: restore on %s: %s\\n' "$name" "$*" >&2; exit 1; }
if [ "$(cat ${shq(p.marker)} 2>/dev/null || true)" = "$key" ]; then
  echo "$name: holds the data of restore $key already; nothing to fetch"
  exit 0
fi
upload=${shq(uploadedSnapshotPath(o.snapshotSha256, p))}
if [ -f "$upload" ] && [ "$(sha256sum "$upload" | cut -d' ' -f1)" = "$sha" ]; then
  echo "$name: snapshot $sha is here already"
  exit 0
fi
${storeReading(o.storeRead)}
incoming=$(mktemp "$upload.XXXXXX")
trap 'rm -rf "$work" "$incoming"' EXIT
store_get ${shq(o.storePath)} "$incoming" || fail "etcd-cluster:restoreFrom: fetching ${o.storePath} from the backup store failed. Nothing was changed; run pulumi up again"
actual=$(sha256sum "$incoming" | cut -d' ' -f1)
if [ "$actual" != "$sha" ]; then
  fail "etcd-cluster:restoreFrom: store:${o.storePath} arrived with SHA-256 $actual, but the store's checksum file says $sha: the stored snapshot is corrupted or was altered. Nothing was changed; restore another snapshot"
fi
mv -f "$incoming" "$upload"
echo "$name: fetched ${o.storePath} ($sha) from the backup store"
`;
}

/** Checks the snapshot on one member and keeps a private copy; changes nothing of etcd's. */
export function renderRestoreCheckScript(o: RestoreStepOptions): string {
    const p = o.paths ?? RESTORE_PATHS;
    return `set -euo pipefail
# Check the snapshot ${o.snapshotSha256} on etcd member ${o.memberName} (restore ${o.key}).
${common(o)}
upload=${shq(uploadedSnapshotPath(o.snapshotSha256, p))}
scratch=""
tmp=""
trap 'rm -rf "$scratch" "$tmp"' EXIT
install -d -m 700 "$dir"
checked() { [ -f "$file" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sha" ]; }
if ! checked; then
  [ -f "$upload" ] || fail "the snapshot was not uploaded to $upload; run pulumi up again"
  actual=$(sha256sum "$upload" | cut -d' ' -f1)
  if [ "$actual" != "$sha" ]; then
    fail "etcd-cluster:restoreFrom: the copy uploaded to $upload has SHA-256 $actual, the snapshot has $sha: it was damaged on the way. Nothing was changed; run pulumi up again"
  fi
  # A private copy: what is checked here is what the restore reads, whoever can write to $upload.
  tmp=$(mktemp "$dir/incoming.XXXXXX")
  cp "$upload" "$tmp"
  mv -f "$tmp" "$file"
  tmp=""
  checked || fail "the copy in $file does not have SHA-256 $sha; nothing was changed"
fi
if ! status=$("$etcdutl" snapshot status "$file" -w json 2>&1); then
  fail "etcd-cluster:restoreFrom: etcdutl cannot read the snapshot: $(oneline <<<"$status"). Nothing was changed"
fi
revision=$(sed -n 's/.*"revision":\\([0-9]*\\).*/\\1/p' <<<"$status")
if [ "\${revision:-0}" -eq 0 ]; then
  fail "etcd-cluster:restoreFrom: the snapshot holds revision 0 (an empty or broken database: $(oneline <<<"$status")). Nothing was changed"
fi
# A trial restore verifies the integrity hash \`etcdctl snapshot save\` appends; a database file copied out of a
# data dir has none and is refused.
scratch=$(mktemp -d "$dir/check.XXXXXX")
if ! out=$("$etcdutl" snapshot restore "$file" --data-dir "$scratch/data" 2>&1); then
  fail "etcd-cluster:restoreFrom: the snapshot fails etcd's integrity check: $(oneline <<<"$out"). Nothing was changed; take or fetch the snapshot again"
fi
echo "$name: snapshot $sha checked: revision $revision, integrity hash verified by a trial restore"
`;
}

/**
 * Restores one member. Every member runs this at once (the whole cluster is replaced): it stops etcd, restores
 * into a staging directory, moves the old data and WAL aside under a timestamp, puts the restored ones in place,
 * records the restore and starts etcd without waiting (no member is ready before a quorum of restored members runs).
 * A member whose cluster already runs this restore (added or replaced after it) only records it.
 */
export function renderRestoreMemberScript(o: RestoreMemberOptions): string {
    const wal = walPath(o.walDir);
    return `set -euo pipefail
# Restore etcd member ${o.memberName} from snapshot ${o.snapshotSha256} (restore ${o.key}), revisions bumped by ${BUMP_REVISION}.
${common(o)}
etcdctl=${shq(o.etcdctl)}
data_dir=${shq(o.dataDir)}
wal_dir=${shq(o.walDir)}
wal=${shq(wal)}
record() {
  local tmp
  tmp=$(mktemp "$marker.XXXXXX")
  printf '%s\\n' "$key" > "$tmp"
  sync -- "$tmp"
  mv -f "$tmp" "$marker"
}
in_cluster=$("$etcdctl" --endpoints=${shq(o.endpoints.join(","))} --cacert=${PKI.ca} --cert=${PKI.serverCert} --key=${PKI.serverKey} \\
  --dial-timeout=2s --command-timeout=5s get ${RESTORED_KEY} --print-value-only 2>/dev/null || true)
if [ "$in_cluster" = "$key" ]; then
  record
  echo "$name: the cluster already runs restore $key (this member joined it afterwards); nothing to restore"
  exit 0
fi
[ -f "$file" ] || fail "the checked snapshot $file is missing; run pulumi up again (its check step copies it there)"
echo "$name: stopping etcd: the whole cluster is replaced by snapshot $sha"
systemctl stop etcd.service
stamp=$(date -u +%Y%m%dT%H%M%SZ)
stage="$data_dir/restore-$key-$stamp"
stage_wal="$wal_dir/restore-$key-$stamp"
if ! out=$("$etcdutl" snapshot restore "$file" --name ${shq(o.memberName)} \\
    --initial-cluster ${shq(o.initialCluster)} --initial-cluster-token ${shq(o.clusterToken)} \\
    --initial-advertise-peer-urls ${shq(o.peerUrl)} --data-dir "$stage" --wal-dir "$stage_wal" \\
    --bump-revision ${BUMP_REVISION} --mark-compacted 2>&1); then
  fail "etcdutl snapshot restore failed: $(oneline <<<"$out"). etcd is stopped on this member; its data is untouched in $data_dir/member. Fix the cause and run pulumi up again"
fi
for old in "$data_dir/member" "$wal"; do
  if [ -e "$old" ]; then
    mv "$old" "$old.before-restore-$stamp"
    echo "$name: moved $old aside to $old.before-restore-$stamp"
  fi
done
mv "$stage/member" "$data_dir/member"
rmdir "$stage"
mv "$stage_wal" "$wal"
chown -R --reference="$data_dir" "$data_dir/member"
chown -R --reference="$wal_dir" "$wal"
sync
record
rm -f "$file"
systemctl start --no-block etcd.service
echo "$name: restored from snapshot $sha (restore $key) and started without waiting for the other members"
`;
}

export interface RestoreGateOptions {
    etcdVersion: string;
    members: MemberPlan[];
    key: string;
    timeoutSeconds: number;
}

/** Waits until the restored cluster is healthy, then records the restore in it (once). */
export function renderRestoreGateScript(o: RestoreGateOptions): string {
    return `set -euo pipefail
# Restore ${o.key}: wait for the restored cluster, then record the restore in it.
${healthLibrary({ etcdVersion: o.etcdVersion, members: o.members, certificates: CURRENT_LINK, subject: "restored cluster" })}
key=${shq(o.key)}
if ! wait_for ${o.timeoutSeconds} cluster_problems; then
  echo "etcd-cluster: the restored cluster is not healthy after ${o.timeoutSeconds}s: $(cluster_problems || true)" >&2
  exit 1
fi
if [ "$(ctl "$desired" get ${RESTORED_KEY} --print-value-only)" != "$key" ]; then
  ctl "$desired" put ${RESTORED_KEY} "$key" >/dev/null
  echo "recorded restore $key in the cluster (${RESTORED_KEY})"
fi
echo "restored cluster healthy; restore $key"
`;
}
