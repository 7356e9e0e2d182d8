/**
 * Certificate expiry as a node_exporter textfile metric (etcd exports none), written with the certificates
 * themselves, so it changes exactly when they do. The alert rules (components/monitoring) read it.
 */
export function renderCertificateMetrics(memberName: string, notAfter: Record<string, string>): string {
    const lines = Object.entries(notAfter).map(([certificate, end]) => {
        const seconds = Date.parse(end) / 1000;
        if (!Number.isFinite(seconds)) throw new Error(`certificate ${certificate} of ${memberName}: expiry '${end}' is not an RFC 3339 time`);
        return `etcd_certificate_expiry_timestamp_seconds{member="${memberName}",certificate="${certificate}"} ${seconds}`;
    });
    return [
        "# Managed by etcd-cluster (Pulumi); local edits are overwritten.",
        "# HELP etcd_certificate_expiry_timestamp_seconds When a certificate this member uses expires (its notAfter).",
        "# TYPE etcd_certificate_expiry_timestamp_seconds gauge",
        ...lines,
        "",
    ].join("\n");
}
