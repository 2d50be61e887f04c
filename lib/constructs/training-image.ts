import { Aws, CfnMapping, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcards } from '../nag.ts';

/** Repository and tag of the SageMaker XGBoost framework container the platform trains with. */
export const XGBOOST_REPOSITORY = 'sagemaker-xgboost';
export const XGBOOST_TAG = '1.7-1';

/**
 * Registry account of the SageMaker XGBoost 1.7-1 image per region, from the SageMaker Python SDK
 * (`src/sagemaker/image_uri_config/xgboost.json`, scope `training`, version `1.7-1`).
 */
export const XGBOOST_REGISTRY_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-iso-east-1': '833128469047',
  'us-isob-east-1': '281123927165',
  'us-isof-east-1': '108575199400',
  'us-isof-south-1': '124985052026',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*)(?::[\w.-]+|@sha256:[a-f0-9]{64})$/;

/** Properties of a {@link TrainingImage}. */
export interface TrainingImageProps {
  /**
   * An ECR image URI (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`) that replaces the
   * SageMaker XGBoost image.
   * @default - SageMaker XGBoost 1.7-1 in the deployment region
   */
  readonly imageUri?: string;
}

/**
 * The training container image. By default the SageMaker XGBoost 1.7-1 framework image, whose registry
 * account depends on the region: it is looked up at deploy time from a template mapping, so the stack stays
 * environment-agnostic.
 */
export class TrainingImage extends Construct {
  /** The image URI. */
  public readonly imageUri: string;
  /** The image's ECR repository. */
  public readonly repository: ecr.IRepository;

  constructor(scope: Construct, id: string, props: TrainingImageProps = {}) {
    super(scope, id);
    if (props.imageUri !== undefined) {
      const match = ECR_IMAGE.exec(props.imageUri);
      if (!match) {
        throw new Error(
          `TrainingImage imageUri (config trainingImageUri): "${props.imageUri}" is not an ECR image URI; ` +
            'use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>',
        );
      }
      const [, account, region, repositoryName] = match as unknown as [string, string, string, string];
      this.imageUri = props.imageUri;
      this.repository = ecr.Repository.fromRepositoryAttributes(this, 'Repository', {
        repositoryName,
        repositoryArn: Stack.of(this).formatArn({
          service: 'ecr',
          account,
          region,
          resource: 'repository',
          resourceName: repositoryName,
        }),
      });
      return;
    }
    const registries = new CfnMapping(this, 'XgboostRegistry', {
      mapping: Object.fromEntries(
        Object.entries(XGBOOST_REGISTRY_ACCOUNTS).map(([region, account]) => [region, { account }]),
      ),
    });
    const account = registries.findInMap(Aws.REGION, 'account');
    this.imageUri = `${account}.dkr.ecr.${Aws.REGION}.${Aws.URL_SUFFIX}/${XGBOOST_REPOSITORY}:${XGBOOST_TAG}`;
    this.repository = ecr.Repository.fromRepositoryAttributes(this, 'Repository', {
      repositoryName: XGBOOST_REPOSITORY,
      repositoryArn: `arn:${Aws.PARTITION}:ecr:${Aws.REGION}:${account}:repository/${XGBOOST_REPOSITORY}`,
    });
  }

  /** Grants pulling the image (layer download and the registry login token). */
  public grantPull(grantee: iam.IGrantable): void {
    this.repository.grantPull(grantee);
    acknowledgeWildcards(
      grantee,
      ['Resource::*'],
      'ecr:GetAuthorizationToken is account-wide and supports no resource-level permissions; image pulls ' +
        '(BatchGetImage, GetDownloadUrlForLayer) are scoped to the training image repository.',
    );
  }
}
