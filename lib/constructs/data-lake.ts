/**
 * The data lake construct: one bucket whose zones (`contracts/lake.ts`) are key prefixes, granted by
 * zone, with its access-log bucket and lifecycle rules.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type LakeZone, lakeZones } from '../../contracts/lake.ts';
import { acknowledgeWildcards, nagText, policyOwner, referenceFrom } from '../nag.ts';

/** Properties of a {@link DataLake}. */
export interface DataLakeProps {
  /** Customer-managed key that encrypts every object in the lake. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to both buckets when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days after which non-current object versions are deleted.
   * @default 90
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Days after which incomplete multipart uploads are aborted.
   * @default 7
   */
  readonly abortIncompleteMultipartUploadDays?: number;
  /**
   * Days the server access logs are kept.
   * @default 365
   */
  readonly accessLogRetentionDays?: number;
  /**
   * Days the objects of the `reports/` zone (a drift report per model and run) are kept.
   * @default 90
   */
  readonly reportRetentionDays?: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`DataLake ${name}: must be a positive whole number of days, got ${v}`);
  }
  return v;
}

/**
 * The S3 data lake: one versioned, KMS-encrypted, TLS-only bucket whose zones are key prefixes, plus a
 * separate bucket for its server access logs.
 */
export class DataLake extends Construct {
  /** The zone prefixes (`raw/`, `curated/`, ...). */
  public static readonly ZONES = lakeZones;

  /** The lake bucket. */
  public readonly bucket: s3.Bucket;
  /** The bucket that receives the lake's server access logs. */
  public readonly accessLogsBucket: s3.Bucket;
  /** The key that encrypts the lake. */
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: DataLakeProps) {
    super(scope, id);
    const noncurrentDays = positiveInteger(
      'noncurrentVersionExpirationDays',
      props.noncurrentVersionExpirationDays,
      90,
    );
    const abortDays = positiveInteger(
      'abortIncompleteMultipartUploadDays',
      props.abortIncompleteMultipartUploadDays,
      7,
    );
    const logDays = positiveInteger('accessLogRetentionDays', props.accessLogRetentionDays, 365);
    const reportDays = positiveInteger('reportRetentionDays', props.reportRetentionDays, 90);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery does not support SSE-KMS destinations.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(logDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(abortDays) },
      ],
      removalPolicy,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(noncurrentDays) },
        // The drift job writes a report per model and run (every 15 minutes by default): they are
        // evidence for a while, not forever, and `mlops status` lists the zone to find the newest.
        { id: 'expire-reports', prefix: lakeZones.reports, expiration: Duration.days(reportDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(abortDays) },
      ],
      removalPolicy,
    });
  }

  /** `s3://<bucket>/<zone>` for a zone. */
  public zoneUri(zone: LakeZone): string {
    return this.bucket.s3UrlForObject(lakeZones[zone]);
  }

  /** Grants read access to one zone (or to the whole lake) and decrypt on the lake key. */
  public grantRead(grantee: iam.IGrantable, zone?: LakeZone): iam.Grant {
    const grant = this.bucket.grantRead(grantee, this.keyPattern(zone));
    this.acknowledge(grantee, this.keyPattern(zone), this.where(zone), READ_FINDINGS);
    return grant;
  }

  /**
   * Grants reading every snapshot's fitted transform (`curated/<model>/<snapshot>/transform.json`) and
   * nothing else of `curated/`: the serving side loads a version's transform with its model, and has
   * no business reading the training rows beside it.
   */
  public grantReadTransforms(grantee: iam.IGrantable): iam.Grant {
    const grant = this.bucket.grantRead(grantee, DataLake.TRANSFORM_KEYS);
    this.acknowledge(grantee, DataLake.TRANSFORM_KEYS, "every snapshot's transform.json", READ_FINDINGS);
    return grant;
  }

  /**
   * Grants writing objects (no read, no delete) to one zone (or to the whole lake). Nothing in the
   * platform deletes from the lake: objects leave through the lifecycle rules, and an overwrite keeps
   * the previous version (the bucket is versioned).
   */
  public grantPut(grantee: iam.IGrantable, zone?: LakeZone): iam.Grant {
    const grant = this.bucket.grantPut(grantee, this.keyPattern(zone));
    this.acknowledge(grantee, this.keyPattern(zone), this.where(zone), [
      'Action::s3:Abort*',
      'Action::kms:ReEncrypt*',
      'Action::kms:GenerateDataKey*',
    ]);
    return grant;
  }

  /** Key pattern of every snapshot's fitted transform. */
  public static readonly TRANSFORM_KEYS = `${lakeZones.curated}*/transform.json`;

  private keyPattern(zone: LakeZone | undefined): string {
    return zone ? `${lakeZones[zone]}*` : '*';
  }

  private where(zone: LakeZone | undefined): string {
    return zone ? `the ${lakeZones[zone]} zone` : 'the lake';
  }

  private acknowledge(grantee: iam.IGrantable, keyPattern: string, where: string, actions: string[]): void {
    const owner = policyOwner(grantee);
    const arn = referenceFrom(owner, this.bucket, this.bucket.bucketArn);
    const objects = `Resource::${nagText(owner, `${arn}/${keyPattern}`)}`;
    acknowledgeWildcards(
      grantee,
      [...actions, objects],
      `Object keys under ${where} are created at run time (per model, snapshot and version), so the grant is scoped ` +
        'to the key pattern; the action wildcards are the S3/KMS action groups that CDK grant methods emit ' +
        '(GetObject* covers object versions and tags, ReEncrypt*/GenerateDataKey* are needed for SSE-KMS).',
    );
  }
}

const READ_FINDINGS = ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*'];
