import { shq } from "../scripts/remote";
import { BACKUP, STORE_HOST } from "./layout";
import { BackupHost } from "./settings";

/**
 * The `host` store: a directory on a backup host, written over SSH. Members hold a key of their own (one per stack)
 * that the backup host accepts only with a forced command: the receiver below, which can do one thing, store a
 * snapshot of that stack under a new name after checking its SHA-256. It cannot read, list, overwrite or delete
 * anything, and the key gives no shell, forwarding or terminal. Retention runs on the backup host, inside the
 * receiver, right after a snapshot is stored, so the members never need the right to delete.
 */

export interface ReceiverOptions { directory: string }

/**
 * The forced command, shared by every stack writing to this backup host. Arguments (fixed in authorized_keys):
 * stack, hourly and daily retention. The member asks `put <stack>/<token>/<tier>/<name> <sha256>` and sends the
 * snapshot on standard input.
 */
export function renderReceiverScript(o: ReceiverOptions): string {
    return `#!/bin/bash
# Managed by etcd-cluster (Pulumi); local edits are overwritten.
# Receives etcd snapshots for ${o.directory}: the only command members' backup keys may run (authorized_keys).
set -euo pipefail
umask 077
root=${shq(o.directory)}
stack=$1 keep_hourly=$2 keep_daily=$3
refuse() { echo "backup-receive: $*" >&2; exit 1; }
read -r verb path sha extra <<<"\${SSH_ORIGINAL_COMMAND:-}" || true
if [ "\${verb:-}" != put ] || [ -n "\${extra:-}" ]; then refuse "only 'put <stack>/<cluster token>/<hourly|daily>/<UTC time>-rev<revision>.db <sha256>' is allowed"; fi
re="^([A-Za-z0-9._-]+)/(etcd-cluster-[A-Za-z0-9._-]+)/(hourly|daily)/([0-9]{8}T[0-9]{6}Z-rev[1-9][0-9]*\\\\.db)$"
[[ "\${path:-}" =~ $re ]] || refuse "bad snapshot path '\${path:-}'"
[ "\${BASH_REMATCH[1]}" = "$stack" ] || refuse "this key writes backups of stack $stack only"
tier=\${BASH_REMATCH[3]} name=\${BASH_REMATCH[4]}
[[ "\${sha:-}" =~ ^[0-9a-f]{64}$ ]] || refuse "bad sha256 '\${sha:-}'"
dir="$root/\${path%/*}"
mkdir -p "$dir"
if [ -e "$dir/$name" ]; then
  # A retried upload of the same snapshot is fine; anything else never replaces a stored backup.
  if [ -f "$dir/$name.sha256" ] && [ "$(cut -d' ' -f1 "$dir/$name.sha256")" = "$sha" ]; then cat >/dev/null; echo "already stored: $path"; exit 0; fi
  refuse "$path exists with other content; a stored backup is never replaced"
fi
tmp=$(mktemp "$dir/.incoming.XXXXXX")
trap 'rm -f "$tmp" "$tmp.sha256"' EXIT
cat > "$tmp"
actual=$(sha256sum "$tmp" | cut -d' ' -f1)
[ "$actual" = "$sha" ] || refuse "$path arrived with sha256 $actual, not $sha: not stored"
printf '%s  %s\\n' "$sha" "$name" > "$tmp.sha256"
sync -- "$tmp" "$tmp.sha256"
mv "$tmp" "$dir/$name"
# The checksum file comes last: a snapshot without one is incomplete.
mv "$tmp.sha256" "$dir/$name.sha256"
sync -- "$dir"
echo "stored $path"
# Retention: the newest complete backups of this tier stay; older ones go, checksum first.
keep=$keep_hourly
if [ "$tier" = daily ]; then keep=$keep_daily; fi
find "$dir" -maxdepth 1 -name '.incoming.*' -mmin +1440 -delete
mapfile -t complete < <(find "$dir" -maxdepth 1 -name '*-rev*.db.sha256' -printf '%f\\n' | sort)
excess=$(( \${#complete[@]} - keep ))
for ((i = 0; i < excess; i++)); do
  old=\${complete[i]%.sha256}
  rm -f "$dir/\${complete[i]}" "$dir/$old"
  echo "retention: removed $tier/$old"
done
`;
}

export interface StoreHostSetupOptions {
    directory: string;
    stack: string;
    retention: { hourly: number; daily: number };
    /** The members' backup public key (OpenSSH line). */
    memberKey: string;
    receiver: string;
}

/** The authorized_keys line of a stack's member key: the receiver only, nothing else. */
export function authorizedKeyLine(o: Pick<StoreHostSetupOptions, "stack" | "retention" | "memberKey">): string {
    return `restrict,command="${STORE_HOST.receiver} ${o.stack} ${o.retention.hourly} ${o.retention.daily}" ${o.memberKey.trim()} etcd-cluster-backup:${o.stack}`;
}

/**
 * Converges the backup host: user, store directory (never taken over when another user owns it), the receiver, and
 * this stack's line in authorized_keys (other stacks' lines and anything else there are kept).
 */
export function renderStoreHostSetupScript(o: StoreHostSetupOptions): string {
    const marker = `etcd-cluster-backup:${o.stack}`;
    return `set -euo pipefail
# Backup store ${o.directory} for stack ${o.stack}.
for tool in sshd sha256sum find; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "the backup host lacks $tool" >&2; exit 1; }
done
if ! id -u ${STORE_HOST.user} >/dev/null 2>&1; then
  useradd --system --user-group --home-dir ${STORE_HOST.home} --create-home --shell /bin/bash ${STORE_HOST.user}
  echo "created user ${STORE_HOST.user}"
fi
# A locked password ('!') would also block key logins under sshd's UsePAM=no: '*' means no password, keys only.
if [ "$(getent shadow ${STORE_HOST.user} | cut -d: -f2)" != "*" ]; then usermod -p '*' ${STORE_HOST.user}; fi
dir=${shq(o.directory)}
if [ -e "$dir" ]; then
  owner=$(stat -c %U "$dir")
  if [ ! -d "$dir" ] || [ "$owner" != ${STORE_HOST.user} ]; then
    echo "etcd-cluster:backup.store.directory: $dir exists and belongs to $owner, not ${STORE_HOST.user}; choose a new directory (or hand this one over: chown -R ${STORE_HOST.user}: $dir)" >&2
    exit 1
  fi
else
  install -d -m 700 -o ${STORE_HOST.user} -g ${STORE_HOST.user} "$dir"
  echo "created $dir"
fi
install -d -m 755 "$(dirname ${STORE_HOST.receiver})"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat > "$tmp" <<'EOF_RECEIVER'
${o.receiver.replace(/\n$/, "")}
EOF_RECEIVER
if ! cmp -s "$tmp" ${STORE_HOST.receiver}; then install -m 755 -o root -g root "$tmp" ${STORE_HOST.receiver}; echo "installed ${STORE_HOST.receiver}"; fi
keys=${STORE_HOST.home}/.ssh/authorized_keys
install -d -m 700 -o ${STORE_HOST.user} -g ${STORE_HOST.user} ${STORE_HOST.home}/.ssh
line=${shq(authorizedKeyLine(o))}
{ grep -v -F -e ${shq(` ${marker}`)} "$keys" 2>/dev/null || true; echo "$line"; } > "$tmp"
if ! cmp -s "$tmp" "$keys"; then install -m 600 -o ${STORE_HOST.user} -g ${STORE_HOST.user} "$tmp" "$keys"; echo "authorized the members' backup key of stack ${o.stack}"; fi
echo "backup store $dir is ready"
`;
}

/** Member side: `store_put` over SSH with the member's backup key, the backup host's key verified. */
export function hostStorePut(host: BackupHost): string {
    return `store_put() { # tier name file sha256
  ssh -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${BACKUP.knownHosts} \\
    -o ConnectTimeout=15 -o ServerAliveInterval=15 -i ${BACKUP.sshKey} -p ${host.port} ${STORE_HOST.user}@${shq(host.address)} \\
    "put $prefix/$1/$2 $4" <"$3" 2>&1 || { echo "storing $1/$2 on ${host.address} failed" >&2; return 1; }
}`;
}

/** The known_hosts line for the backup host (non-standard ports are written as [address]:port). */
export function knownHostsLine(host: BackupHost): string {
    const name = host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
    return `${name} ${host.hostKey}\n`;
}
