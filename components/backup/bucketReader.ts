import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import { shq } from "../scripts/remote";

/**
 * Reading the S3 or GCS store for a restore. The members' identity (instance profile, service account) stays
 * put-only: a restore reads with a principal of its own, made only while `restoreFrom` names a store snapshot and
 * deleted with it: on AWS an IAM user that may only get and list objects below the stack's prefix (and decrypt
 * through S3 when the bucket uses a KMS key), on GCP a service account with `roles/storage.objectViewer` on the
 * stack's bucket. Its access key (an HMAC key on GCP) is secret in the stack state and reaches a member only on a
 * restore step's standard input, read from there by curl; both buckets speak the S3 protocol with it (curl's SigV4).
 */

export interface BucketReader {
    /** `<access key id> <secret>`, one line: what the restore steps get on standard input. */
    credentials: pulumi.Output<string>;
    ready: pulumi.Resource[];
}

/** The reader's policy: get and list below the stack's prefix, nothing else. */
export function s3ReadPolicy(bucketArn: string, stack: string, region: string, kms: boolean): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucketArn}/${stack}/*`] },
            { Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn], Condition: { StringLike: { "s3:prefix": [`${stack}/*`] } } },
            ...(kms ? [{ Effect: "Allow", Action: ["kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } } }] : []),
        ],
    });
}

export function s3Reader(name: string, args: { bucket: aws.s3.Bucket; stack: string; region: string; kms: boolean }, parent?: pulumi.Resource): BucketReader {
    const opts = { parent };
    const user = new aws.iam.User(`${name}-backup-reader`, { tags: { stack: args.stack, purpose: "etcd-cluster restore: reads backups" } }, opts);
    const policy = new aws.iam.UserPolicy(`${name}-backup-reader-get-only`, {
        user: user.name,
        policy: args.bucket.arn.apply((arn) => s3ReadPolicy(arn, args.stack, args.region, args.kms)),
    }, opts);
    const key = new aws.iam.AccessKey(`${name}-backup-reader`, { user: user.name }, opts);
    return { credentials: pulumi.secret(pulumi.interpolate`${key.id} ${key.secret}`), ready: [policy, key] };
}

export function gcsReader(name: string, args: { bucket: gcp.storage.Bucket; stack: string; project?: string }, parent?: pulumi.Resource): BucketReader {
    const opts = { parent };
    const account = new gcp.serviceaccount.Account(`${name}-backup-reader`, {
        project: args.project,
        accountId: `etcd-rd-${args.stack.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 20)}`,
        displayName: `etcd-cluster ${args.stack}: reads backups for a restore`,
    }, opts);
    const binding = new gcp.storage.BucketIAMMember(`${name}-backup-reader-view-only`, {
        bucket: args.bucket.name,
        role: "roles/storage.objectViewer",
        member: pulumi.interpolate`serviceAccount:${account.email}`,
    }, opts);
    const key = new gcp.storage.HmacKey(`${name}-backup-reader`, { project: args.project, serviceAccountEmail: account.email }, { ...opts, dependsOn: [binding] });
    return { credentials: pulumi.secret(pulumi.interpolate`${key.accessId} ${key.secret}`), ready: [binding, key] };
}

export interface BucketReadOptions {
    /** Path-style base URL of the bucket: S3's regional endpoint, or GCS's XML API. */
    bucketUrl: string;
    /** SigV4 region: the bucket's region on S3; "auto" on GCS. */
    region: string;
    /** The restore reads only this stack's backups (its prefix). */
    stack: string;
}

/**
 * Member side, in a restore step: `store_resolve <latest|path>` and `store_get <path> <file>` with SigV4-signed GETs;
 * the credentials (in "$work/credentials") reach curl on its standard input, never its command line.
 */
export function bucketStoreRead(o: BucketReadOptions): string {
    return `bucket_url=${shq(o.bucketUrl)}
stack=${shq(o.stack)}
bucket_get() { # curl arguments: a signed GET of the bucket
  local ak sk
  read -r ak sk < "$work/credentials"
  # Every error is retried: a just-made access key takes seconds to be accepted everywhere (IAM is eventually consistent).
  curl -fsS --retry 5 --retry-delay 4 --retry-all-errors --max-time 3600 --config - "$@" <<EOF_CURL
aws-sigv4 = "aws:amz:${o.region}:s3"
user = "$ak:$sk"
header = "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EOF_CURL
}
store_resolve() { # latest|path: prints "snapshot <path> <sha256>" from the snapshot's checksum file
  local path=$1 listing token="" line
  if [ "$path" = latest ]; then
    : > "$work/keys"
    while :; do
      listing=$(bucket_get -G --data-urlencode list-type=2 --data-urlencode "prefix=$stack/" \${token:+--data-urlencode "continuation-token=$token"} "$bucket_url/")
      grep -o '<Key>[^<]*\\.db\\.sha256</Key>' <<<"$listing" | sed 's|<Key>\\(.*\\)\\.sha256</Key>|\\1|' >> "$work/keys" || true
      token=$(sed -n 's|.*<NextContinuationToken>\\([^<]*\\)</NextContinuationToken>.*|\\1|p' <<<"$listing")
      [ -n "$token" ] || break
    done
    # Names start with their UTC time: the newest complete snapshot of any cluster token and tier of this stack.
    path=$(awk -F/ '{ print $NF " " $0 }' "$work/keys" | sort | tail -n1 | cut -d' ' -f2)
    [ -n "$path" ] || { echo "no complete snapshot of stack $stack in $bucket_url" >&2; return 1; }
  fi
  line=$(bucket_get "$bucket_url/$path.sha256") || { echo "no complete snapshot $path in $bucket_url (its .sha256 cannot be read)" >&2; return 1; }
  if [[ "$line" =~ ^([0-9a-f]{64})\\ [\\ *](.+)$ ]] && [ "\${BASH_REMATCH[2]}" = "\${path##*/}" ]; then
    echo "snapshot $path \${BASH_REMATCH[1]}"
  else
    echo "$path.sha256 is not a checksum line for \${path##*/}" >&2
    return 1
  fi
}
store_get() { bucket_get -o "$2" "$bucket_url/$1"; }`;
}
