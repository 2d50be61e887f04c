import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { PlatformConfig } from '../config.ts';
import { BatchScoring } from '../constructs/batch-scoring.ts';
import type { FunctionSettings } from '../constructs/mlops-function.ts';
import { endpointPrefix, ModelEndpoints } from '../constructs/model-endpoints.ts';
import { PromotionPipeline } from '../constructs/promotion-pipeline.ts';
import { RollbackPipeline } from '../constructs/rollback-pipeline.ts';
import { TrainingPipeline } from '../constructs/training-pipeline.ts';
import type { DataStack } from './data-stack.ts';

/** Properties of the {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /** The validated platform config. */
  readonly config: PlatformConfig;
  /** The stateful stack. */
  readonly data: DataStack;
}

/** The training, promotion, rollback and batch-scoring state machines and their task functions. */
export class PipelineStack extends Stack {
  /** The training pipeline. */
  public readonly training: TrainingPipeline;
  /** The promotion pipeline. */
  public readonly promotion: PromotionPipeline;
  /** The rollback pipeline. */
  public readonly rollback: RollbackPipeline;
  /** Endpoint serving: the model role and the sync function's grants. */
  public readonly endpoints: ModelEndpoints;
  /** Batch scoring of a CSV object on a Distributed Map. */
  public readonly batchScoring: BatchScoring;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const functions: FunctionSettings = {
      stage: config.stage,
      models: config.models,
      logEncryptionKey: data.key,
      removalPolicy: data.removalPolicy,
      sourceMaps: config.sourceMaps,
    };
    const operatorTopic = data.alerts.topic;

    this.promotion = new PromotionPipeline(this, 'Promotion', {
      functions,
      lake: data.lake,
      registry: data.registry,
      operatorTopic,
      predictionLog: data.predictionLog,
    });
    this.training = new TrainingPipeline(this, 'Training', {
      functions,
      lake: data.lake,
      registry: data.registry,
      operatorTopic,
      promotionMachine: this.promotion.machine.stateMachine,
      instanceType: config.trainingInstanceType,
      volumeSizeGb: config.trainingVolumeSizeGb,
      maxRuntimeSeconds: config.trainingMaxRuntimeSeconds,
      imageUri: config.trainingImageUri,
      prepareDistributedAboveRows: config.prepareDistributedAboveRows,
      prepareMaxConcurrency: config.prepareMaxConcurrency,
    });
    this.rollback = new RollbackPipeline(this, 'Rollback', {
      functions,
      registry: data.registry,
      deployModel: this.promotion.deployModel,
      endpointSync: this.promotion.endpointSync.stateMachine,
      operatorTopic,
    });
    this.batchScoring = new BatchScoring(this, 'BatchScoring', {
      functions,
      lake: data.lake,
      registry: data.registry,
      maxConcurrency: config.batchScoring.maxConcurrency,
    });
    this.endpoints = new ModelEndpoints(this, 'Endpoints', {
      settings: config.serving,
      prefix: endpointPrefix(config.stage),
      lake: data.lake,
      trainingCode: this.training.trainingCode,
      image: this.training.image,
      encryptionKey: data.key,
      syncFunction: this.promotion.syncEndpoint,
      models: config.models.map((m) => m.name),
    });

    new CfnOutput(this, stackOutputs.trainingStateMachineArn, {
      value: this.training.machine.stateMachine.stateMachineArn,
      description: 'Training state machine',
    });
    new CfnOutput(this, stackOutputs.promotionStateMachineArn, {
      value: this.promotion.machine.stateMachine.stateMachineArn,
      description: 'Promotion state machine',
    });
    new CfnOutput(this, stackOutputs.rollbackStateMachineArn, {
      value: this.rollback.machine.stateMachine.stateMachineArn,
      description: 'Rollback state machine',
    });
    new CfnOutput(this, stackOutputs.batchScoringStateMachineArn, {
      value: this.batchScoring.machine.stateMachine.stateMachineArn,
      description: 'Batch scoring state machine',
    });
  }
}
