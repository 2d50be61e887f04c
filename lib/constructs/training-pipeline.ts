import { join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { lakeZones } from '../../contracts/lake.ts';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { retrainingPolicySchema } from '../../core/model/policies.ts';
import { featureCodeSha256 } from '../feature-code.ts';
import { acknowledgeWildcards, nagText, referenceFrom } from '../nag.ts';
import { PIPELINES_DIR } from '../paths.ts';
import { AslStateMachine, grantOwnMapRuns } from './asl-state-machine.ts';
import type { DataLake } from './data-lake.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import { TrainingCode } from './training-code.ts';
import { TrainingImage } from './training-image.ts';

/** Properties of a {@link TrainingPipeline}. */
export interface TrainingPipelineProps {
  /** Settings shared by the pipeline's functions. */
  readonly functions: FunctionSettings;
  /** The data lake (features in `curated/`, training output in `artifacts/`). */
  readonly lake: DataLake;
  /** The model registry. */
  readonly registry: ModelRegistry;
  /** Topic told about failed runs. */
  readonly operatorTopic: sns.ITopic;
  /** The promotion state machine a run starts for its candidate when the model's approval is `auto`. */
  readonly promotionMachine: sfn.IStateMachine;
  /**
   * SageMaker instance type of the training job.
   * @default 'ml.g5.xlarge'
   */
  readonly instanceType?: string;
  /**
   * Size of the training volume in GB.
   * @default 30
   */
  readonly volumeSizeGb?: number;
  /**
   * Maximum run time of a training job in seconds.
   * @default 3600
   */
  readonly maxRuntimeSeconds?: number;
  /**
   * ECR image URI that replaces the SageMaker XGBoost 1.7-1 image.
   * @default - the SageMaker XGBoost 1.7-1 image of the deployment region
   */
  readonly imageUri?: string;
  /**
   * Raw data with more rows than this is prepared in two passes over a Distributed Map.
   * @default 100000
   */
  readonly prepareDistributedAboveRows?: number;
  /**
   * Ranges each pass of the two-pass prepare reads at once (its Maps' MaxConcurrency).
   * @default 10
   */
  readonly prepareMaxConcurrency?: number;
  /**
   * The ASL definition.
   * @default pipelines/training.asl.json
   */
  readonly definitionFile?: string;
  /**
   * Directory of the training code (entry `train.py`).
   * @default pipelines/training
   */
  readonly sourceDir?: string;
}

const INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;

function validate(props: TrainingPipelineProps): {
  instanceType: string;
  volume: number;
  runtime: number;
  aboveRows: number;
  mapConcurrency: number;
} {
  const instanceType = props.instanceType ?? 'ml.g5.xlarge';
  if (!INSTANCE_TYPE.test(instanceType)) {
    throw new Error(
      `TrainingPipeline instanceType: "${instanceType}" is not a SageMaker instance type (ml.g5.xlarge)`,
    );
  }
  const volume = props.volumeSizeGb ?? 30;
  if (!Number.isInteger(volume) || volume < 1 || volume > 512) {
    throw new Error(`TrainingPipeline volumeSizeGb: must be a whole number from 1 to 512, got ${volume}`);
  }
  const runtime = props.maxRuntimeSeconds ?? 3600;
  if (!Number.isInteger(runtime) || runtime < 60 || runtime > 432000) {
    throw new Error(
      `TrainingPipeline maxRuntimeSeconds: must be a whole number from 60 to 432000, got ${runtime}`,
    );
  }
  const aboveRows = props.prepareDistributedAboveRows ?? 100_000;
  if (!Number.isInteger(aboveRows) || aboveRows < 0) {
    throw new Error(
      `TrainingPipeline prepareDistributedAboveRows: must be a whole number of at least 0, got ${aboveRows}`,
    );
  }
  const mapConcurrency = props.prepareMaxConcurrency ?? 10;
  if (!Number.isInteger(mapConcurrency) || mapConcurrency < 1 || mapConcurrency > 10_000) {
    throw new Error(
      `TrainingPipeline prepareMaxConcurrency: must be a whole number from 1 to 10000, got ${mapConcurrency}`,
    );
  }
  return { instanceType, volume, runtime, aboveRows, mapConcurrency };
}

/**
 * The training pipeline: take the model's training lease, prepare features, train with the SageMaker
 * XGBoost container in script mode, evaluate with the serving scorer, register, give the lease up. Every
 * start (an operator's, the schedule's, a drift alarm's) goes through it, so one run per model trains at
 * a time. It owns the four task functions, the training code asset, the SageMaker execution role and the
 * state machine. Input: `{"model", "seed"?, "trigger"?: "operator" | "schedule" | "alarm", "alarm"?, "reason"?}`.
 */
export class TrainingPipeline extends Construct {
  /** The state machine and its log group. */
  public readonly machine: AslStateMachine;
  /** Validates raw data and writes the curated snapshot and hyperparameters. */
  public readonly prepareFeatures: MlopsFunction<'prepare-features'>;
  /** Scores candidate and incumbent on the frozen snapshot. */
  public readonly evaluateModel: MlopsFunction<'evaluate-model'>;
  /** Writes the version and its evidence to the registry. */
  public readonly registerModel: MlopsFunction<'register-model'>;
  /** Takes and gives up the per-model training lease, and records each start in the audit trail. */
  public readonly trainingLease: MlopsFunction<'training-lease'>;
  /** The role SageMaker assumes for training jobs. */
  public readonly sageMakerRole: iam.Role;
  /** The `sourcedir.tar.gz` of the training code. */
  public readonly trainingCode: TrainingCode;
  /** The training container image. */
  public readonly image: TrainingImage;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const { instanceType, volume, runtime, aboveRows, mapConcurrency } = validate(props);
    const { lake, registry } = props;
    const stack = Stack.of(this);
    const jobPrefix = trainingJobPrefix(props.functions.stage);

    this.image = new TrainingImage(this, 'Image', { imageUri: props.imageUri });
    this.trainingCode = new TrainingCode(this, 'Code', {
      sourceDir: props.sourceDir ?? join(PIPELINES_DIR, 'training'),
    });

    this.sageMakerRole = new iam.Role(this, 'SageMakerRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Execution role of the platform SageMaker training jobs',
    });
    lake.grantRead(this.sageMakerRole, 'curated');
    lake.grantPut(this.sageMakerRole, 'artifacts');
    this.trainingCode.grantRead(this.sageMakerRole);
    this.image.grantPull(this.sageMakerRole);
    const jobLogs = logs.LogGroup.fromLogGroupName(this, 'TrainingJobLogs', '/aws/sagemaker/TrainingJobs');
    jobLogs.grant(
      this.sageMakerRole,
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'logs:DescribeLogStreams',
    );
    // The SageMaker execution role publishes the training job's metrics (CreateTrainingJob permissions).
    // Metric.grantPutMetricData takes no condition; SageMaker publishes in its own namespace only.
    this.sageMakerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
      }),
    );
    acknowledgeWildcards(
      this.sageMakerRole,
      ['Resource::*'],
      'cloudwatch:PutMetricData supports no resource-level permissions (the grant is held to the ' +
        '/aws/sagemaker/TrainingJobs namespace by condition), and ecr:GetAuthorizationToken has none either; ' +
        'SageMaker publishes the training job metrics and pulls the image with the execution role.',
    );
    acknowledgeWildcards(
      this.sageMakerRole,
      [`Resource::${nagText(this, jobLogs.logGroupArn)}`],
      'SageMaker names one log stream per training job at run time inside /aws/sagemaker/TrainingJobs; the ' +
        'grant is limited to that log group.',
    );

    this.prepareFeatures = new MlopsFunction(this, 'PrepareFeatures', {
      ...props.functions,
      name: 'prepare-features',
      description: 'Validates raw data, writes the curated snapshot and the SageMaker training request',
      // A two-pass child holds a range of up to 64 MiB (pass 2 peaked at 1,551 MB on one, see
      // BENCHMARKS.md "The prepare step at scale"), and the finish reads every training part: the
      // memory and the longest timeout Lambda has, for the largest data sets.
      memorySize: 2048,
      timeout: Duration.minutes(15),
      // Data ingested without its own definition is prepared with the deployed one of its model.
      includeModelDefinitions: true,
      environment: {
        TRAINING_SOURCE_URI: this.trainingCode.s3Url,
        TRAINING_CODE_SHA256: this.trainingCode.sha256,
        FEATURE_CODE_SHA256: featureCodeSha256(),
        TRAINING_IMAGE_URI: this.image.imageUri,
        TRAINING_JOB_PREFIX: jobPrefix,
        PREPARE_DISTRIBUTED_ABOVE_ROWS: String(aboveRows),
      },
    })
      // Reads the ingested data, the golden set and a snapshot's earlier baseline; writes the snapshot,
      // its quarantined rows and its baseline.
      .bindLake(lake, 'read', 'raw', 'golden', 'baselines')
      .bindLake(lake, 'put', 'curated', 'quarantine', 'baselines');
    this.evaluateModel = new MlopsFunction(this, 'EvaluateModel', {
      ...props.functions,
      name: 'evaluate-model',
      description: 'Evaluates the candidate and the incumbent on the same frozen snapshot',
      memorySize: 1024,
      timeout: Duration.minutes(5),
    })
      // Reads the job's model tarball and the snapshot; writes the model JSON, the evaluation and the
      // baseline's validation scores.
      .bindLake(lake, 'read', 'artifacts', 'curated', 'baselines')
      .bindLake(lake, 'put', 'artifacts', 'baselines');
    this.registerModel = new MlopsFunction(this, 'RegisterModel', {
      ...props.functions,
      name: 'register-model',
      description: 'Registers the candidate version with its evidence',
      timeout: Duration.minutes(2),
      // The version counter moves (UpdateItem); the version and its audit item are written once.
    }).bindRegistry(registry, 'UpdateItem', 'PutItem');

    this.trainingLease = new MlopsFunction(this, 'TrainingLease', {
      ...props.functions,
      name: 'training-lease',
      description: 'Takes and gives up the per-model training lease; records every start, run or refused',
      memorySize: 256,
      environment: {
        LEASE_MINUTES: props.functions.models.map((m) => `${m.name}=${m.retraining.leaseMinutes}`).join(','),
        // A model trained from a definition ingested with its data is not deployed: the policy default.
        DEFAULT_LEASE_MINUTES: String(retrainingPolicySchema.parse({}).leaseMinutes),
      },
    }).bindLeases(registry);

    this.machine = new AslStateMachine(this, 'Machine', {
      definitionFile: props.definitionFile ?? join(PIPELINES_DIR, 'training.asl.json'),
      logEncryptionKey: props.functions.logEncryptionKey,
      removalPolicy: props.functions.removalPolicy,
      invokes: [this.trainingLease, this.prepareFeatures, this.evaluateModel, this.registerModel],
      publishesTo: [props.operatorTopic],
      substitutions: {
        TrainingLeaseFunctionArn: this.trainingLease.functionArn,
        PrepareFeaturesFunctionArn: this.prepareFeatures.functionArn,
        EvaluateModelFunctionArn: this.evaluateModel.functionArn,
        RegisterModelFunctionArn: this.registerModel.functionArn,
        TrainingImageUri: this.image.imageUri,
        SageMakerRoleArn: this.sageMakerRole.roleArn,
        TrainingInstanceType: instanceType,
        TrainingVolumeSizeGb: String(volume),
        TrainingMaxRuntimeSeconds: String(runtime),
        PrepareMaxConcurrency: String(mapConcurrency),
        LakeBucketName: lake.bucket.bucketName,
        LakeKeyArn: lake.encryptionKey.keyArn,
        OperatorTopicArn: props.operatorTopic.topicArn,
        PromotionStateMachineArn: props.promotionMachine.stateMachineArn,
      },
    });
    const machine = this.machine.stateMachine;
    props.promotionMachine.grantStartExecution(machine);

    // The prepare step's Distributed Maps: their ItemReader reads the ranges the plan and the reduce
    // wrote (s3:GetObject and the lake key's decrypt; the children read the raw data themselves), and
    // they run their ranges as child executions of this machine.
    const rangeItems = `${lakeZones.curated}*/plan/*`;
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [lake.bucket.arnForObjects(rangeItems)],
      }),
    );
    lake.encryptionKey.grantDecrypt(machine);
    acknowledgeWildcards(
      machine,
      [
        `Resource::${nagText(this, `${referenceFrom(this, lake.bucket, lake.bucket.bucketArn)}/${rangeItems}`)}`,
      ],
      "The prepare step's Distributed Maps read the byte ranges a run's plan and reduce write under " +
        'curated/<model>/<snapshot>/plan/<run>/, whose keys are only known at run time.',
    );
    grantOwnMapRuns(machine, "The prepare step's Distributed Maps read the raw data in byte ranges.");

    // createTrainingJob.sync: start, poll and stop jobs, and the managed EventBridge rule that reports
    // completion. No grant method exists for these service-integration permissions. Job names start
    // with the stage's prefix (prepare-features builds them), so the grant covers every job of this
    // stage, whatever model it trains, and none of another stage.
    const jobArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'training-job',
      resourceName: `${jobPrefix}*`,
    });
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: [jobArn],
      }),
    );
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule',
          }),
        ],
      }),
    );
    iam.Grant.addToPrincipal({
      grantee: machine,
      actions: ['iam:PassRole'],
      resourceArns: [this.sageMakerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    acknowledgeWildcards(
      machine,
      [`Resource::${nagText(this, jobArn)}`],
      `Training job names are generated per run (${jobPrefix}<model>-<run>); the grant is limited to the ` +
        "stage's prefix, which no other stage's prefix starts with.",
    );
  }
}
