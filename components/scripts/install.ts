import { RELEASE_ARCHES } from "../etcdChecksums";
import { installDir, UPLOAD_DIR } from "../layout";
import { ExpectedSha256 } from "../releaseChecksums";
import { OutboundPort } from "../targets/machine";
import { shq } from "./remote";

export type InstallSource =
    | { kind: "download"; baseUrl: string; sha256: ExpectedSha256 }
    | { kind: "archive"; fileName: string; sha256: string };

/**
 * What the install step must reach beyond the cluster: the mirror's port when etcd is downloaded (https only, so 443
 * unless the URL names a port); nothing for offline installs, whose archive comes over SSH.
 */
export function installOutboundPorts(install: { etcdArchive?: string; etcdDownloadUrl: string }): OutboundPort[] {
    if (install.etcdArchive) return [];
    const url = new URL(install.etcdDownloadUrl);
    return [{ port: url.port ? Number(url.port) : 443, purpose: "etcd release download" }];
}

/** Where an uploaded archive lands on the host. */
export function uploadedArchivePath(fileName: string): string {
    return `${UPLOAD_DIR}/${fileName}`;
}

/**
 * Installs etcd, etcdctl and etcdutl into a directory of their own version, verified by SHA-256 against a checksum
 * that never comes from the mirror (pinned in the program or given in config). Does nothing when that version is
 * there. Downloads use https only, redirects included; wget is refused because it cannot be held to that.
 * The tarball is checked and unpacked only in a directory no one else can write.
 */
export function renderInstallScript(version: string, source: InstallSource): string {
    const dir = installDir(version);
    const fetch = source.kind === "download"
        ? `base=${shq(source.baseUrl)}
case "$arch" in
${RELEASE_ARCHES.map((arch) => `  ${arch}) expected=${shq(source.sha256[arch] ?? "")} ;;`).join("\n")}
esac
if [ -z "$expected" ]; then echo "no SHA-256 of $name.tar.gz is pinned for etcd $version; set etcd-cluster:etcdSha256" >&2; exit 1; fi
if ! command -v curl >/dev/null; then echo "curl is needed to download etcd over https only; install it, or set etcd-cluster:etcdArchive" >&2; exit 1; fi
curl --proto =https --proto-redir =https --tlsv1.2 -fsSL --retry 3 --connect-timeout 15 -o "$tmp/$name.tar.gz" "$base/v$version/$name.tar.gz"`
        : `archive=${shq(uploadedArchivePath(source.fileName))}
expected=${shq(source.sha256)}
case "$archive" in *"-linux-$arch.tar.gz") ;; *) echo "$archive does not match this host's architecture ($arch)" >&2; exit 1 ;; esac
# Copied before it is checked: the upload directory is writable by others, the copy is not.
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
echo "$expected  $tmp/$name.tar.gz" | sha256sum --check --strict --quiet
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
