import { DEFRAG } from "../defrag";
import { HostFile } from "../fileBundle";
import { CONFIG_DIR, PKI_DIR, STATE_DIR } from "../layout";
import { shq } from "./remote";

export interface ConfigureOptions {
    memberName: string;
    dataDir: string;
    walDir: string;
    /** Written from the script text itself: not secret, and readable in a preview diff. */
    inlineFiles: HostFile[];
    /** Arrive on standard input (see fileBundle.ts): keys and certificates. */
    stdinFiles: Array<Omit<HostFile, "content"> & { fingerprint: string }>;
}

/**
 * Replaces a file atomically, only when its content, mode or owner differ. The new content is complete and on disk
 * (fsync) before the rename, and the rename itself is synced; content that fails to decode changes nothing.
 * Expects `changed` and `tmp` to exist (the caller's trap removes a leftover temporary copy).
 */
export const WRITE_FILE = `write_file() { # path mode owner [base64] < content
  local path=$1 mode=$2 owner=$3
  tmp=$(mktemp "$path.XXXXXX")
  if [ "\${4:-}" = base64 ]; then
    if ! base64 -d > "$tmp" || [ ! -s "$tmp" ]; then
      echo "$path: the content on standard input is not valid base64; nothing was changed" >&2
      exit 1
    fi
  else
    cat > "$tmp"
  fi
  chown "$owner" "$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path" && [ "$(stat -c '%a %U:%G' "$path")" = "$(stat -c '%a %U:%G' "$tmp")" ]; then
    rm -f "$tmp"
    tmp=""
    return 0
  fi
  sync -- "$tmp"
  mv -f "$tmp" "$path"
  tmp=""
  sync -- "$(dirname -- "$path")"
  echo "updated $path"
  changed=1
}`;

/**
 * Brings a host's etcd user, directories and files to the declared state. A file is replaced (atomically) only when
 * its content, mode or owner differ; nothing is ever deleted and etcd is not restarted here (the apply step decides).
 */
export function renderConfigureScript(o: ConfigureOptions): string {
    const expected = o.stdinFiles.map((f) => `#   ${f.path} ${f.mode} ${f.owner} (${f.fingerprint})`).join("\n");
    const inline = o.inlineFiles.map((f) => {
        const eof = `EOF_${f.path.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}`;
        return `write_file ${shq(f.path)} ${f.mode} ${f.owner} <<'${eof}'\n${f.content.replace(/\n$/, "")}\n${eof}`;
    }).join("\n");
    return `set -euo pipefail
# Configure etcd member ${o.memberName}.
changed=0
# A temporary copy (perhaps of a key) must not outlive a failed run.
tmp=""
trap 'rm -f "$tmp"' EXIT
${WRITE_FILE}
ensure_dir() { # path mode owner
  if [ ! -d "$1" ]; then install -d -m "$2" -o "\${3%:*}" -g "\${3#*:}" "$1"; echo "created $1"; fi
  if [ "$(stat -c '%a %U:%G' "$1")" != "$2 $3" ]; then chmod "$2" "$1"; chown "$3" "$1"; echo "fixed mode and owner of $1"; fi
}
if ! getent group etcd >/dev/null; then groupadd --system etcd; echo "created group etcd"; fi
if ! id -u etcd >/dev/null 2>&1; then
  useradd --system --gid etcd --home-dir ${shq(o.dataDir)} --no-create-home --shell /usr/sbin/nologin etcd
  echo "created user etcd"
fi
ensure_dir ${shq(o.dataDir)} 700 etcd:etcd
ensure_dir ${shq(o.walDir)} 700 etcd:etcd
ensure_dir ${CONFIG_DIR} 755 root:root
ensure_dir ${PKI_DIR} 755 root:root
ensure_dir ${STATE_DIR} 700 root:root

# Keys and certificates arrive on standard input, one per line: path mode owner base64. Expected:
${expected}
received=0
while read -r path mode owner data; do
  case "$path" in
    ${o.stdinFiles.map((f) => shq(f.path)).join("|")}) ;;
    *) echo "unexpected file $path on standard input" >&2; exit 1 ;;
  esac
  write_file "$path" "$mode" "$owner" base64 <<<"$data"
  received=$((received + 1))
done
if [ "$received" -ne ${o.stdinFiles.length} ]; then echo "expected ${o.stdinFiles.length} files on standard input, got $received" >&2; exit 1; fi

${inline}
if [ "$changed" -eq 1 ]; then systemctl daemon-reload; fi
if ! systemctl is-enabled --quiet etcd.service; then systemctl enable --quiet etcd.service; echo "enabled etcd.service"; fi
if ! systemctl is-enabled --quiet ${DEFRAG.timerUnit}; then systemctl enable --now --quiet ${DEFRAG.timerUnit}; echo "enabled ${DEFRAG.timerUnit}"; fi
if [ "$changed" -eq 0 ]; then echo "${o.memberName}: configuration is up to date"; fi
`;
}
