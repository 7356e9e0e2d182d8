import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { shq } from "../scripts/remote";
import { BackupSchedule } from "./settings";
import { s3ExpiryDays } from "./s3Store";

/**
 * The `gcp` store, built so the GCP target can hook it in: a GCS bucket of the stack's own (versioned, uniform
 * access, public access prevented, Google-managed encryption) and a service account that holds only
 * `roles/storage.objectCreator` on it: it can create objects, not read, list, overwrite or delete them. The GCP
 * target attaches `serviceAccountEmail` to its instances (scope devstorage.read_write; the role limits it).
 * Retention is the bucket's lifecycle: scheduled uploads carry a custom time, and are deleted that many days after
 * it; every object is deleted after the daily retention (never before the scheduled one's), and a deleted or
 * replaced object stays a noncurrent version for 7 days.
 */

export interface GcsStoreArgs {
    location: string;
    project?: string;
    stack: string;
    retention: { hourly: number; daily: number };
    schedule: BackupSchedule;
}

export interface GcsStore {
    bucket: gcp.storage.Bucket;
    serviceAccountEmail: pulumi.Output<string>;
    ready: pulumi.Resource[];
}

/** Lifecycle rules: [scheduled backups by custom time, every object by age, noncurrent versions]. */
export function gcsLifecycleRules(retention: { hourly: number; daily: number }, schedule: BackupSchedule): gcp.types.input.storage.BucketLifecycleRule[] {
    const hourlyDays = s3ExpiryDays("hourly", retention, schedule);
    return [
        { action: { type: "Delete" }, condition: { daysSinceCustomTime: hourlyDays } },
        { action: { type: "Delete" }, condition: { age: Math.max(hourlyDays, s3ExpiryDays("daily", retention, schedule)) } },
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 7, withState: "ARCHIVED" } },
    ];
}

export function gcsStore(name: string, args: GcsStoreArgs, parent?: pulumi.Resource): GcsStore {
    const opts = { parent };
    const bucket = new gcp.storage.Bucket(`${name}-backups`, {
        project: args.project,
        location: args.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        lifecycleRules: gcsLifecycleRules(args.retention, args.schedule),
        labels: { stack: args.stack.toLowerCase().replace(/[^a-z0-9_-]/g, "-") },
    }, { ...opts, protect: true });
    const account = new gcp.serviceaccount.Account(`${name}-backup-writer`, {
        project: args.project,
        accountId: `etcd-bk-${args.stack.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 20)}`,
        displayName: `etcd-cluster ${args.stack}: writes backups only`,
    }, opts);
    const binding = new gcp.storage.BucketIAMMember(`${name}-backup-writer-create-only`, {
        bucket: bucket.name,
        role: "roles/storage.objectCreator",
        member: pulumi.interpolate`serviceAccount:${account.email}`,
    }, opts);
    return { bucket, serviceAccountEmail: account.email, ready: [bucket, binding] };
}

export interface GcsPutOptions {
    bucket: string;
    /** Defaults to Google's XML API endpoint; tests point it at a local stand-in. */
    endpoint?: string;
    metadataUrl?: string;
}

/** Member side: `store_put` with curl and the instance's service-account token from the metadata server (on stdin to curl). */
export function gcsStorePut(o: GcsPutOptions): string {
    return `gcs_url=${shq(`${o.endpoint ?? "https://storage.googleapis.com"}/${o.bucket}`)}
metadata=${shq(o.metadataUrl ?? "http://metadata.google.internal")}
gcs_put() { # key file tier
  local token custom=""
  token=$(curl -fsS --max-time 5 -H "Metadata-Flavor: Google" "$metadata/computeMetadata/v1/instance/service-accounts/default/token" |
    sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')
  if [ -z "$token" ]; then echo "no access token for the instance's service account" >&2; return 1; fi
  # Scheduled backups expire by their custom time (the bucket's lifecycle); daily ones by age.
  if [ "$3" = hourly ]; then custom="header = \\"x-goog-custom-time: $(date -u +%Y-%m-%dT%H:%M:%SZ)\\""; fi
  curl -fsS --retry 3 --max-time 3600 --config - -T "$2" "$gcs_url/$1" <<EOF_CURL
header = "Authorization: Bearer $token"
$custom
EOF_CURL
}
store_put() { # tier name file sha256
  local sums
  sums="$(dirname "$3")/$2.sha256"
  printf '%s  %s\\n' "$4" "$2" > "$sums"
  gcs_put "$prefix/$1/$2" "$3" "$1" || { echo "uploading $1/$2 to $gcs_url failed" >&2; return 1; }
  gcs_put "$prefix/$1/$2.sha256" "$sums" "$1" || { echo "uploading $1/$2.sha256 to $gcs_url failed" >&2; return 1; }
}`;
}
