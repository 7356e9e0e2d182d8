import { DEFRAG } from "../defrag";
import { HostFile } from "../fileBundle";
import { CONFIG_DIR, CURRENT_LINK, RELEASE_FILES, RELEASES_DIR, STATE_DIR, releaseDir } from "../layout";
import { TEXTFILE_DIR } from "../backup/layout";
import { shq } from "./remote";

export interface ConfigureOptions {
    memberName: string;
    dataDir: string;
    walDir: string;
    /** Names the staged configuration (its directory under RELEASES_DIR). */
    digest: string;
    /** The etcd binary this configuration runs. */
    etcdBinary: string;
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

/** Writes each file from the script text itself (heredoc), through WRITE_FILE. */
export function writeInlineFiles(files: HostFile[]): string {
    return files.map((f) => {
        const eof = `EOF_${f.path.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}`;
        return `write_file ${shq(f.path)} ${f.mode} ${f.owner} <<'${eof}'\n${f.content.replace(/\n$/, "")}\n${eof}`;
    }).join("\n");
}

/** Writes the files that arrive on standard input (fileBundle.ts) through WRITE_FILE: only `paths`, each exactly once. */
export function receiveStdinFiles(paths: string[]): string {
    return `received=0
while read -r path mode owner data; do
  case "$path" in
    ${paths.length ? paths.map(shq).join("|") : "''"}) ;;
    *) echo "unexpected file $path on standard input" >&2; exit 1 ;;
  esac
  write_file "$path" "$mode" "$owner" base64 <<<"$data"
  received=$((received + 1))
done
if [ "$received" -ne ${paths.length} ]; then echo "expected ${paths.length} files on standard input, got $received" >&2; exit 1; fi`;
}

/**
 * Brings a host's etcd user and directories to the declared state and stages the member's configuration in a
 * directory of its own (see layout.ts). Nothing etcd reads now is touched: the apply step switches to the staged
 * configuration under its gate. A file is replaced only when its content, mode or owner differ. Staged
 * configurations other than the running one and this one are removed (they hold only copies of configuration);
 * data is never touched, except that data and WAL dirs are handed back to the etcd user when a rebuilt host gave
 * it another id.
 */
export function renderConfigureScript(o: ConfigureOptions): string {
    const expected = o.stdinFiles.map((f) => `#   ${f.path} ${f.mode} ${f.owner} (${f.fingerprint})`).join("\n");
    return `set -euo pipefail
# Configure etcd member ${o.memberName}.
changed=0
# A temporary copy (perhaps of a key) must not outlive a failed run.
tmp=""
trap 'rm -f "$tmp"' EXIT
${WRITE_FILE}
ensure_dir() { # path mode owner [recursive owner fix]
  if [ ! -d "$1" ]; then install -d -m "$2" -o "\${3%:*}" -g "\${3#*:}" "$1"; echo "created $1"; fi
  if [ "$(stat -c '%U:%G' "$1")" != "$3" ] && [ "\${4:-}" = recursive ]; then chown -R "$3" "$1"; echo "handed $1 to $3"; fi
  if [ "$(stat -c '%a %U:%G' "$1")" != "$2 $3" ]; then chmod "$2" "$1"; chown "$3" "$1"; echo "fixed mode and owner of $1"; fi
}
if ! getent group etcd >/dev/null; then groupadd --system etcd; echo "created group etcd"; fi
if ! id -u etcd >/dev/null 2>&1; then
  useradd --system --gid etcd --home-dir ${shq(o.dataDir)} --no-create-home --shell /usr/sbin/nologin etcd
  echo "created user etcd"
fi
ensure_dir ${shq(o.dataDir)} 700 etcd:etcd recursive
ensure_dir ${shq(o.walDir)} 700 etcd:etcd recursive
ensure_dir ${CONFIG_DIR} 755 root:root
ensure_dir ${STATE_DIR} 700 root:root
ensure_dir ${RELEASES_DIR} 755 root:root
release=${shq(releaseDir(o.digest))}
ensure_dir "$release" 755 root:root
ensure_dir "$release/${RELEASE_FILES.ca.split("/")[0]}" 755 root:root
if [ "$(readlink "$release/${RELEASE_FILES.etcd}" || true)" != ${shq(o.etcdBinary)} ]; then
  ln -sfn ${shq(o.etcdBinary)} "$release/${RELEASE_FILES.etcd}"
  echo "linked $release/${RELEASE_FILES.etcd} to ${o.etcdBinary}"
  changed=1
fi
ensure_dir ${TEXTFILE_DIR} 755 root:root

# Keys and certificates arrive on standard input, one per line: path mode owner base64. Expected:
${expected}
${receiveStdinFiles(o.stdinFiles.map((f) => f.path))}

# Only host files (defragmentation, backup, metrics) are written in place; etcd's own unit is installed by the apply step.
${writeInlineFiles(o.inlineFiles)}
if [ "$changed" -eq 1 ]; then systemctl daemon-reload; fi
if ! systemctl is-enabled --quiet ${DEFRAG.timerUnit}; then systemctl enable --now --quiet ${DEFRAG.timerUnit}; echo "enabled ${DEFRAG.timerUnit}"; fi
running=$(readlink ${CURRENT_LINK} || true)
for old in ${RELEASES_DIR}/*; do
  case "\${old##*/}" in "\${running##*/}"|${shq(o.digest)}) ;; *) rm -rf -- "$old"; echo "removed staged configuration \${old##*/}, which is neither running nor wanted" ;; esac
done
if [ "$changed" -eq 0 ]; then echo "${o.memberName}: configuration ${o.digest} is staged and up to date"; else echo "${o.memberName}: configuration ${o.digest} is staged"; fi
`;
}
