import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { acknowledgeWildcards } from '../nag.ts';
import { buildSourceDirTarball } from '../sourcedir.ts';

/** Properties of a {@link TrainingCode}. */
export interface TrainingCodeProps {
  /** Directory holding the training entry script and its helpers. */
  readonly sourceDir: string;
  /**
   * The entry script, relative to `sourceDir`.
   * @default 'train.py'
   */
  readonly entryPoint?: string;
  /**
   * Where the tarball is built before CDK stages it.
   * @default os.tmpdir()
   */
  readonly buildDir?: string;
}

/**
 * The training code as SageMaker script mode wants it: a deterministic `sourcedir.tar.gz` uploaded as a
 * file asset. Its S3 URL goes into the `sagemaker_submit_directory` hyperparameter, its SHA-256 into
 * every registered model's evidence.
 */
export class TrainingCode extends Construct {
  /** The uploaded tarball. */
  public readonly asset: s3assets.Asset;
  /** `s3://bucket/key` of the tarball. */
  public readonly s3Url: string;
  /** Hex SHA-256 of the tarball bytes. */
  public readonly sha256: string;
  /** The entry script (`sagemaker_program`). */
  public readonly entryPoint: string;

  constructor(scope: Construct, id: string, props: TrainingCodeProps) {
    super(scope, id);
    this.entryPoint = props.entryPoint ?? 'train.py';
    if (!existsSync(join(props.sourceDir, this.entryPoint))) {
      throw new Error(`TrainingCode entryPoint: ${this.entryPoint} is not in ${props.sourceDir}`);
    }
    const tarball = buildSourceDirTarball(props.sourceDir, { outputRoot: props.buildDir });
    this.sha256 = tarball.sha256;
    this.asset = new s3assets.Asset(this, 'SourceDir', { path: tarball.path });
    this.s3Url = this.asset.s3ObjectUrl;
  }

  /** Grants reading the tarball object (and nothing else in the assets bucket). */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = this.asset.bucket.grantRead(grantee, this.asset.s3ObjectKey);
    acknowledgeWildcards(
      grantee,
      ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*'],
      'Read action groups that Bucket.grantRead emits; the object resource is the one training-code tarball.',
    );
    return grant;
  }
}
