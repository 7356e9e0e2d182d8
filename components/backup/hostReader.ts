import { shq } from "../scripts/remote";
import { STORE_HOST } from "./layout";
import { BackupHost } from "./settings";

/**
 * Reading the `host` store for a restore. The members' backup key can only hand snapshots over (hostStore.ts); a
 * restore reads with a second key, made for the restore alone and authorized only while `restoreFrom` names a store
 * snapshot, whose forced command (the sender below) can do two things: say which complete snapshot of its stack a
 * request means, with the SHA-256 its checksum file holds, and send that snapshot. It cannot write, delete, list
 * other stacks or run anything else. The key reaches a member only on a restore step's standard input and is
 * removed when the step ends.
 */

export const SENDER = "/usr/local/lib/etcd-cluster/backup-send";

/**
 * The forced command. Argument (fixed in authorized_keys): the stack. Requests: `resolve latest` or
 * `resolve <stack>/<token>/<tier>/<name>` print `snapshot <path> <sha256>`; `get <path>` sends the snapshot.
 */
export function renderSenderScript(o: { directory: string }): string {
    return `#!/bin/bash
# Managed by etcd-cluster (Pulumi); local edits are overwritten.
# Sends etcd snapshots from ${o.directory} for a restore: the only command restore keys may run (authorized_keys).
set -euo pipefail
root=${shq(o.directory)}
stack=$1
refuse() { echo "backup-send: $*" >&2; exit 1; }
read -r verb arg extra <<<"\${SSH_ORIGINAL_COMMAND:-}" || true
if [ -z "\${verb:-}" ] || [ -z "\${arg:-}" ] || [ -n "\${extra:-}" ]; then refuse "only 'resolve latest', 'resolve <path>' or 'get <path>' is allowed"; fi
re="^([A-Za-z0-9._-]+)/(etcd-cluster-[A-Za-z0-9._-]+)/(hourly|daily)/([0-9]{8}T[0-9]{6}Z-rev[1-9][0-9]*\\\\.db)$"
valid() {
  [[ "$1" =~ $re ]] || refuse "bad snapshot path '$1'"
  [ "\${BASH_REMATCH[1]}" = "$stack" ] || refuse "this key reads backups of stack $stack only"
}
# The SHA-256 of a complete snapshot (its checksum file is written last), from that checksum file.
checksum() {
  local line
  if [ ! -f "$root/$1" ] || [ ! -f "$root/$1.sha256" ]; then refuse "no complete snapshot $1 in the store"; fi
  line=$(head -n1 "$root/$1.sha256")
  if [[ "$line" =~ ^([0-9a-f]{64})\\ [\\ *](.+)$ ]] && [ "\${BASH_REMATCH[2]}" = "\${1##*/}" ]; then
    echo "\${BASH_REMATCH[1]}"
  else
    refuse "$1.sha256 is not a checksum line for \${1##*/}"
  fi
}
case "$verb" in
  resolve)
    path=$arg
    if [ "$arg" = latest ]; then
      # Names start with their UTC time: the newest complete snapshot of any cluster token and tier of this stack.
      [ -d "$root/$stack" ] || refuse "no complete snapshot of stack $stack in the store"
      newest=$(find "$root/$stack" -mindepth 3 -maxdepth 3 -name '*-rev*.db.sha256' -printf '%f %P\\n' | sort | tail -n1 | cut -d' ' -f2)
      [ -n "$newest" ] || refuse "no complete snapshot of stack $stack in the store"
      path="$stack/\${newest%.sha256}"
    fi
    valid "$path"
    sha=$(checksum "$path")
    echo "snapshot $path $sha"
    ;;
  get)
    valid "$arg"
    checksum "$arg" >/dev/null
    cat "$root/$arg"
    ;;
  *) refuse "only 'resolve latest', 'resolve <path>' or 'get <path>' is allowed" ;;
esac
`;
}

const marker = (stack: string) => `etcd-cluster-restore:${stack}`;

/** The authorized_keys line of a stack's restore key: the sender only, nothing else. */
export function readerKeyLine(stack: string, readerKey: string): string {
    return `restrict,command="${SENDER} ${stack}" ${readerKey.trim()} ${marker(stack)}`;
}

/** Installs the sender and authorizes the restore key (the backup user and store exist: hostStore.ts made them). */
export function renderReaderAuthorizeScript(o: { directory: string; stack: string; readerKey: string }): string {
    return `set -euo pipefail
# Authorize the restore key of stack ${o.stack} to read ${o.directory}.
id -u ${STORE_HOST.user} >/dev/null 2>&1 || { echo "the backup host has no user ${STORE_HOST.user}: backups were never set up here" >&2; exit 1; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat > "$tmp" <<'EOF_SENDER'
${renderSenderScript({ directory: o.directory }).replace(/\n$/, "")}
EOF_SENDER
if ! cmp -s "$tmp" ${SENDER}; then install -m 755 -o root -g root "$tmp" ${SENDER}; echo "installed ${SENDER}"; fi
keys=${STORE_HOST.home}/.ssh/authorized_keys
line=${shq(readerKeyLine(o.stack, o.readerKey))}
{ grep -v -F -e ${shq(` ${marker(o.stack)}`)} "$keys" 2>/dev/null || true; echo "$line"; } > "$tmp"
if ! cmp -s "$tmp" "$keys"; then install -m 600 -o ${STORE_HOST.user} -g ${STORE_HOST.user} "$tmp" "$keys"; echo "authorized the restore key of stack ${o.stack} (read only)"; fi
`;
}

/** When the restore no longer names a store snapshot: the restore key is no longer accepted. */
export function renderReaderRevokeScript(stack: string): string {
    return `set -euo pipefail
# Revoke the restore key of stack ${stack}.
keys=${STORE_HOST.home}/.ssh/authorized_keys
[ -f "$keys" ] || exit 0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
grep -v -F -e ${shq(` ${marker(stack)}`)} "$keys" > "$tmp" || true
if ! cmp -s "$tmp" "$keys"; then install -m 600 -o ${STORE_HOST.user} -g ${STORE_HOST.user} "$tmp" "$keys"; echo "revoked the restore key of stack ${stack}"; fi
`;
}

/**
 * Member side, in a restore step: `store_resolve <latest|path>` and `store_get <path> <file>` over SSH with the restore
 * key (in the file "$work/credentials"), the backup host's key verified against a known_hosts file of the step's own.
 */
export function hostStoreRead(host: BackupHost, knownHostsLine: string): string {
    return `printf '%s' ${shq(knownHostsLine)} > "$work/known_hosts"
store_ssh() {
  ssh -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/known_hosts" \\
    -o ConnectTimeout=15 -o ServerAliveInterval=15 -i "$work/credentials" -p ${host.port} ${STORE_HOST.user}@${shq(host.address)} "$@" </dev/null
}
store_resolve() { store_ssh "resolve $1"; }
store_get() { store_ssh "get $1" > "$2"; }`;
}
