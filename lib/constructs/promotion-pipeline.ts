import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PIPELINES_DIR } from '../paths.ts';
import { AslStateMachine } from './asl-state-machine.ts';
import type { DataLake } from './data-lake.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { PredictionLog } from './prediction-log.ts';

/** Properties of a {@link PromotionPipeline}. */
export interface PromotionPipelineProps {
  /** Settings shared by the pipeline's functions. */
  readonly functions: FunctionSettings;
  /** The data lake (model artifacts). */
  readonly lake: DataLake;
  /** The model registry. */
  readonly registry: ModelRegistry;
  /** Topic told about promotions and refusals. */
  readonly operatorTopic: sns.ITopic;
  /** Where served predictions are logged; the canary check compares canary and incumbent there. */
  readonly predictionLog: PredictionLog;
  /**
   * The ASL definition of the parent state machine (its stages are `endpoint-sync`, `shadow` and
   * `canary` beside it in `pipelines/`).
   * @default pipelines/promotion.asl.json
   */
  readonly definitionFile?: string;
}

/**
 * The promotion pipeline: the guardrail decides on the evidence, deploy puts the approved version in
 * service, set-alias moves the production alias. Its stages are state machines of their own, run as
 * nested executions: the endpoint sync (also run by the rollback pipeline), the shadow and the
 * canary. It owns the deploy function that rollback reuses.
 */
export class PromotionPipeline extends Construct {
  /** The state machine and its log group. */
  public readonly machine: AslStateMachine;
  /** Moves a model's endpoint to the registry's plan and verifies it; never fails, answers ready or not. */
  public readonly endpointSync: AslStateMachine;
  /** The shadow stage: the candidate scores copies of production's requests, answering none. */
  public readonly shadowStage: AslStateMachine;
  /** The canary stage: the candidate serves a share of traffic while it bakes and is judged. */
  public readonly canaryStage: AslStateMachine;
  /** Scores candidate and incumbent on the same frozen rows and writes the evidence. */
  public readonly compareModels: MlopsFunction<'compare-models'>;
  /** Decides on the evidence, promoting or refusing with reasons. */
  public readonly guardrail: MlopsFunction<'guardrail'>;
  /** Marks a candidate Failed when a promotion step fails. */
  public readonly markFailed: MlopsFunction<'mark-failed'>;
  /** Starts, checks and aborts the canary. */
  public readonly canary: MlopsFunction<'canary'>;
  /** Puts a registered version in service. */
  public readonly deployModel: MlopsFunction<'deploy-model'>;
  /** Moves the production alias with a conditional update. */
  public readonly setAlias: MlopsFunction<'set-alias'>;
  /** Brings the serving target (SageMaker endpoint, in that mode) in line with the registry. */
  public readonly syncEndpoint: MlopsFunction<'sync-endpoint'>;

  constructor(scope: Construct, id: string, props: PromotionPipelineProps) {
    super(scope, id);
    this.compareModels = new MlopsFunction(this, 'CompareModels', {
      ...props.functions,
      name: 'compare-models',
      description: 'Scores candidate and incumbent on the same frozen rows, per slice, with leakage checks',
      memorySize: 1024,
      timeout: Duration.minutes(5),
    })
      .bindLake(props.lake, 'read', 'curated', 'artifacts')
      .bindLake(props.lake, 'put', 'artifacts')
      .bindRegistry(props.registry, 'GetItem');
    this.guardrail = new MlopsFunction(this, 'Guardrail', {
      ...props.functions,
      name: 'guardrail',
      description: 'Promotes a candidate on evidence or refuses it with reasons',
    })
      .bindLake(props.lake, 'read', 'artifacts')
      // Evidence and audit items are written once; the candidate's status moves.
      .bindRegistry(props.registry, 'GetItem', 'PutItem', 'UpdateItem');
    this.deployModel = new MlopsFunction(this, 'DeployModel', {
      ...props.functions,
      name: 'deploy-model',
      description: 'Puts a registered model version in service',
    })
      .bindLake(props.lake, 'read', 'artifacts')
      .bindRegistry(props.registry, 'GetItem');
    props.lake.grantReadTransforms(this.deployModel);
    this.canary = new MlopsFunction(this, 'Canary', {
      ...props.functions,
      name: 'canary',
      description: 'Runs a candidate beside production while it bakes, and checks or aborts it',
    })
      // The canary and shadow live on the alias item and the candidate's status moves (UpdateItem);
      // each move writes its audit item (PutItem).
      .bindRegistry(props.registry, 'GetItem', 'UpdateItem', 'PutItem')
      .bindPredictionLogReader(props.predictionLog);
    this.markFailed = new MlopsFunction(this, 'MarkFailed', {
      ...props.functions,
      name: 'mark-failed',
      description: 'Marks a candidate Failed when its promotion fails',
    }).bindRegistry(props.registry, 'GetItem', 'UpdateItem', 'PutItem');
    this.setAlias = new MlopsFunction(this, 'SetAlias', {
      ...props.functions,
      name: 'set-alias',
      description: 'Moves the production alias of a model',
      // The alias item is replaced under its condition (PutItem), statuses move (UpdateItem).
    }).bindRegistry(props.registry, 'GetItem', 'PutItem', 'UpdateItem');
    this.syncEndpoint = new MlopsFunction(this, 'SyncEndpoint', {
      ...props.functions,
      name: 'sync-endpoint',
      description: 'Moves a model endpoint towards the variants the registry plans, and verifies them',
      timeout: Duration.minutes(1),
    }).bindRegistry(props.registry, 'GetItem', 'Query');

    const common = {
      logEncryptionKey: props.functions.logEncryptionKey,
      removalPolicy: props.functions.removalPolicy,
    };
    const file = (name: string) => join(PIPELINES_DIR, `${name}.asl.json`);
    this.endpointSync = new AslStateMachine(this, 'EndpointSync', {
      ...common,
      definitionFile: file('endpoint-sync'),
      invokes: [this.syncEndpoint],
      publishesTo: [props.operatorTopic],
      substitutions: {
        SyncEndpointFunctionArn: this.syncEndpoint.functionArn,
        OperatorTopicArn: props.operatorTopic.topicArn,
      },
    });
    const endpointSyncArn = this.endpointSync.stateMachine.stateMachineArn;
    this.shadowStage = new AslStateMachine(this, 'ShadowStage', {
      ...common,
      definitionFile: file('shadow'),
      invokes: [this.canary],
      runs: [this.endpointSync.stateMachine],
      substitutions: {
        CanaryFunctionArn: this.canary.functionArn,
        EndpointSyncStateMachineArn: endpointSyncArn,
      },
    });
    this.canaryStage = new AslStateMachine(this, 'CanaryStage', {
      ...common,
      definitionFile: file('canary'),
      invokes: [this.canary],
      runs: [this.endpointSync.stateMachine],
      substitutions: {
        CanaryFunctionArn: this.canary.functionArn,
        EndpointSyncStateMachineArn: endpointSyncArn,
      },
    });
    this.machine = new AslStateMachine(this, 'Machine', {
      ...common,
      definitionFile: props.definitionFile ?? file('promotion'),
      invokes: [this.compareModels, this.guardrail, this.deployModel, this.setAlias, this.markFailed],
      runs: [this.endpointSync.stateMachine, this.shadowStage.stateMachine, this.canaryStage.stateMachine],
      publishesTo: [props.operatorTopic],
      substitutions: {
        CompareModelsFunctionArn: this.compareModels.functionArn,
        GuardrailFunctionArn: this.guardrail.functionArn,
        DeployModelFunctionArn: this.deployModel.functionArn,
        SetAliasFunctionArn: this.setAlias.functionArn,
        MarkFailedFunctionArn: this.markFailed.functionArn,
        EndpointSyncStateMachineArn: endpointSyncArn,
        ShadowStateMachineArn: this.shadowStage.stateMachine.stateMachineArn,
        CanaryStateMachineArn: this.canaryStage.stateMachine.stateMachineArn,
        OperatorTopicArn: props.operatorTopic.topicArn,
      },
    });
  }
}
