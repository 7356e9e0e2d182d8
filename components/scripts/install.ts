import { installDir, UPLOAD_DIR } from "../layout";
import { shq } from "./remote";

export type InstallSource =
    | { kind: "download"; baseUrl: string }
    | { kind: "archive"; fileName: string; sha256: string };

/** Where an uploaded archive lands on the host. */
export function uploadedArchivePath(fileName: string): string {
    return `${UPLOAD_DIR}/${fileName}`;
}

/**
 * Installs etcd, etcdctl and etcdutl into a directory of their own version, verified by SHA-256 (against the
 * release's published SHA256SUMS, or the hash of the archive we uploaded). Does nothing when that version is there.
 */
export function renderInstallScript(version: string, source: InstallSource): string {
    const dir = installDir(version);
    const fetch = source.kind === "download"
        ? `base=${shq(source.baseUrl)}
fetch() {
  if command -v curl >/dev/null; then curl -fsSL --retry 3 --connect-timeout 15 -o "$2" "$1"
  elif command -v wget >/dev/null; then wget -q --tries=3 --timeout=15 -O "$2" "$1"
  else echo "neither curl nor wget is installed; install one, or set etcd-cluster:etcdArchive" >&2; return 1
  fi
}
fetch "$base/v$version/$name.tar.gz" "$tmp/$name.tar.gz"
fetch "$base/v$version/SHA256SUMS" "$tmp/SHA256SUMS"
grep -E "  $name\\.tar\\.gz\$" "$tmp/SHA256SUMS" > "$tmp/expected" || { echo "$name.tar.gz is not listed in SHA256SUMS" >&2; exit 1; }
(cd "$tmp" && sha256sum --check --strict --quiet expected)`
        : `archive=${shq(uploadedArchivePath(source.fileName))}
case "$archive" in *"-linux-$arch.tar.gz") ;; *) echo "$archive does not match this host's architecture ($arch)" >&2; exit 1 ;; esac
echo ${shq(`${source.sha256}  ${uploadedArchivePath(source.fileName)}`)} | sha256sum --check --strict --quiet
cp "$archive" "$tmp/$name.tar.gz"`;
    return `set -euo pipefail
version=${shq(version)}
dir=${shq(dir)}
# Convenience links for operators; changed only when they point elsewhere.
link_tools() {
  for tool in etcdctl etcdutl; do
    if [ -x "$dir/$tool" ] && [ "$(readlink "/usr/local/bin/$tool" || true)" != "$dir/$tool" ]; then
      ln -sfn "$dir/$tool" "/usr/local/bin/$tool"
    fi
  done
}
# Reads the whole output first: with pipefail, grep -q closing the pipe early would fail the check at random.
is_version() {
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  grep -qx "etcd Version: $version" <<<"$out"
}
if [ -x "$dir/etcd" ] && is_version "$dir/etcd"; then
  link_tools
  echo "etcd $version is installed in $dir"
  exit 0
fi
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
name="etcd-v$version-linux-$arch"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${fetch}
tar -xzf "$tmp/$name.tar.gz" -C "$tmp"
[ -x "$tmp/$name/etcd" ] || { echo "$name.tar.gz has no $name/etcd" >&2; exit 1; }
is_version "$tmp/$name/etcd" || { echo "the archive's etcd is not version $version" >&2; exit 1; }
install -d -m 0755 "$dir.new"
for tool in etcd etcdctl etcdutl; do
  if [ -f "$tmp/$name/$tool" ]; then install -m 0755 "$tmp/$name/$tool" "$dir.new/$tool"; fi
done
[ -x "$dir.new/etcdctl" ] || { echo "$name.tar.gz has no etcdctl, which health checks need" >&2; exit 1; }
rm -rf "$dir"
mv "$dir.new" "$dir"
link_tools
echo "installed etcd $version in $dir"
`;
}
