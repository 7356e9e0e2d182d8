import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { shq } from "../scripts/remote";
import { BackupSchedule } from "./settings";

/**
 * The `aws` store: an S3 bucket of the stack's own (versioned, encrypted, never public) and an instance profile
 * whose role may only put objects (and their tier tag) below `<stack>/`: it cannot read, list or delete, so a
 * compromised member cannot destroy the backups. Retention is the bucket's lifecycle, by the tier tag each upload
 * carries: S3 counts in whole days, so "keep N" becomes "expire after the days N runs take" (rounded up), and an
 * expired object stays a noncurrent version for 7 more days.
 */

export interface S3StoreArgs {
    region: string;
    stack: string;
    retention: { hourly: number; daily: number };
    schedule: BackupSchedule;
    /** The target's KMS key for EBS, reused for the bucket when set; otherwise S3-managed keys. */
    kmsKeyId?: string;
}

export interface S3Store {
    bucket: aws.s3.Bucket;
    instanceProfile: aws.iam.InstanceProfile;
    /** Everything that must exist before members upload. */
    ready: pulumi.Resource[];
}

export const TIER_TAG = "etcd-backup-tier";

/** Lifecycle days for a tier: at least one, S3's smallest unit. */
export function s3ExpiryDays(tier: "hourly" | "daily", retention: { hourly: number; daily: number }, schedule: BackupSchedule): number {
    return tier === "daily" ? Math.max(1, retention.daily) : Math.max(1, Math.ceil((retention.hourly * schedule.intervalSeconds) / 86400));
}

/** The members' policy: PutObject (with its tags) below the stack's prefix, nothing else. */
export function s3WritePolicy(bucketArn: string, stack: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["s3:PutObject", "s3:PutObjectTagging"], Resource: [`${bucketArn}/${stack}/*`] }],
    });
}

export function s3Store(name: string, args: S3StoreArgs, parent?: pulumi.Resource): S3Store {
    const opts = { parent };
    const region = args.region;
    const bucket = new aws.s3.Bucket(`${name}-backups`, { region, bucketPrefix: "etcd-backups-", tags: { stack: args.stack } }, { ...opts, protect: true });
    const versioning = new aws.s3.BucketVersioning(`${name}-backups-versioning`, {
        region, bucket: bucket.id, versioningConfiguration: { status: "Enabled" },
    }, opts);
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-backups-encryption`, {
        region, bucket: bucket.id,
        rules: [{
            applyServerSideEncryptionByDefault: args.kmsKeyId ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyId } : { sseAlgorithm: "AES256" },
            bucketKeyEnabled: args.kmsKeyId ? true : undefined,
        }],
    }, opts);
    const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-backups-public-access`, {
        region, bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    }, opts);
    const lifecycle = new aws.s3.BucketLifecycleConfiguration(`${name}-backups-retention`, {
        region, bucket: bucket.id,
        rules: (["hourly", "daily"] as const).map((tier) => ({
            id: `${tier}-backups`,
            status: "Enabled",
            filter: { tag: { key: TIER_TAG, value: tier } },
            expiration: { days: s3ExpiryDays(tier, args.retention, args.schedule) },
            noncurrentVersionExpiration: { noncurrentDays: 7 },
        })),
    }, { ...opts, dependsOn: [versioning] });
    const role = new aws.iam.Role(`${name}-backup-writer`, {
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        tags: { stack: args.stack },
    }, opts);
    const policy = new aws.iam.RolePolicy(`${name}-backup-writer-put-only`, {
        role: role.id,
        policy: bucket.arn.apply((arn) => s3WritePolicy(arn, args.stack)),
    }, opts);
    const instanceProfile = new aws.iam.InstanceProfile(`${name}-backup-writer`, { role: role.name, tags: { stack: args.stack } }, opts);
    return { bucket, instanceProfile, ready: [versioning, encryption, publicAccess, lifecycle, policy, instanceProfile] };
}

export interface S3PutOptions {
    region: string;
    bucket: string;
    /** Defaults to the bucket's regional endpoint; tests point it at a local stand-in. */
    endpoint?: string;
    /** The instance metadata service (IMDSv2), where the instance profile's temporary credentials come from. */
    metadataUrl?: string;
}

/**
 * Member side: `store_put` with curl's SigV4 signing and the instance profile's temporary credentials from IMDSv2.
 * The credentials reach curl on its standard input (`--config -`), never its command line.
 */
export function s3StorePut(o: S3PutOptions): string {
    const endpoint = o.endpoint ?? `https://${o.bucket}.s3.${o.region}.amazonaws.com`;
    return `s3_endpoint=${shq(endpoint)}
imds=${shq(o.metadataUrl ?? "http://169.254.169.254")}
s3_put() { # key file sha256 tier
  local token role creds ak sk st
  token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$imds/latest/api/token")
  role=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/iam/security-credentials/" | head -n1)
  creds=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/iam/security-credentials/$role")
  ak=$(sed -n 's/.*"AccessKeyId" *: *"\\([^"]*\\)".*/\\1/p' <<<"$creds")
  sk=$(sed -n 's/.*"SecretAccessKey" *: *"\\([^"]*\\)".*/\\1/p' <<<"$creds")
  st=$(sed -n 's/.*"Token" *: *"\\([^"]*\\)".*/\\1/p' <<<"$creds")
  if [ -z "$ak" ] || [ -z "$sk" ]; then echo "no credentials from the instance profile (role '$role')" >&2; return 1; fi
  curl -fsS --retry 3 --max-time 3600 --config - -T "$2" "$s3_endpoint/$1" <<EOF_CURL
aws-sigv4 = "aws:amz:${o.region}:s3"
user = "$ak:$sk"
header = "x-amz-security-token: $st"
header = "x-amz-content-sha256: $3"
header = "x-amz-tagging: ${TIER_TAG}=$4"
EOF_CURL
}
store_put() { # tier name file sha256
  local sums
  sums="$(dirname "$3")/$2.sha256"
  printf '%s  %s\\n' "$4" "$2" > "$sums"
  s3_put "$prefix/$1/$2" "$3" "$4" "$1" || { echo "uploading $1/$2 to $s3_endpoint failed" >&2; return 1; }
  s3_put "$prefix/$1/$2.sha256" "$sums" "$(sha256sum "$sums" | cut -d' ' -f1)" "$1" || { echo "uploading $1/$2.sha256 to $s3_endpoint failed" >&2; return 1; }
}`;
}
