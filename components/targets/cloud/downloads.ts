/**
 * The TCP port machines must reach to download etcd, or undefined for offline installs (the archive is uploaded
 * over SSH, so no egress is needed). Firewalls open egress to that port only.
 */
export function downloadPort(install: { etcdArchive?: string; etcdDownloadUrl: string }): number | undefined {
    if (install.etcdArchive) return undefined;
    const url = new URL(install.etcdDownloadUrl);
    return url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
}
