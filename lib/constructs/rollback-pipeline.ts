import { join } from 'node:path';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PIPELINES_DIR } from '../paths.ts';
import { AslStateMachine } from './asl-state-machine.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';

/** Properties of a {@link RollbackPipeline}. */
export interface RollbackPipelineProps {
  /** Settings shared by the pipeline's functions. */
  readonly functions: FunctionSettings;
  /** The model registry. */
  readonly registry: ModelRegistry;
  /** The deploy function (owned by the promotion pipeline). */
  readonly deployModel: lambda.IFunction;
  /** The promotion pipeline's endpoint sync state machine, run to put the target back in service. */
  readonly endpointSync: sfn.IStateMachine;
  /** Topic told about every rollback, skipped rollback and page. */
  readonly operatorTopic: sns.ITopic;
  /**
   * The ASL definition.
   * @default pipelines/rollback.asl.json
   */
  readonly definitionFile?: string;
}

/**
 * The rollback pipeline: one move back to the last version that served healthily (the latest Retired
 * version of the alias history), decided first by the rollback policy (core/policy/rollback.ts). An
 * alarm acts only inside the guard window of a promotion (else the decision is `skipped`) and pages
 * operators when no healthy version exists (`paged`); an operator may name the version. Every decision
 * is audited. Input: `{"model", "trigger"?: "operator" | "alarm", "reason"?, "alarm"?, "to"?}`.
 */
export class RollbackPipeline extends Construct {
  /** The state machine and its log group. */
  public readonly machine: AslStateMachine;
  /** Decides a rollback and moves the production alias back to the decided version. */
  public readonly rollback: MlopsFunction<'rollback'>;

  constructor(scope: Construct, id: string, props: RollbackPipelineProps) {
    super(scope, id);
    this.rollback = new MlopsFunction(this, 'Rollback', {
      ...props.functions,
      name: 'rollback',
      description:
        'Decides a rollback by the policy and moves the production alias back to the decided version',
      // The alias item is replaced under its condition (PutItem), statuses move (UpdateItem).
    }).bindRegistry(props.registry, 'GetItem', 'PutItem', 'UpdateItem');

    this.machine = new AslStateMachine(this, 'Machine', {
      definitionFile: props.definitionFile ?? join(PIPELINES_DIR, 'rollback.asl.json'),
      logEncryptionKey: props.functions.logEncryptionKey,
      removalPolicy: props.functions.removalPolicy,
      invokes: [this.rollback, props.deployModel],
      runs: [props.endpointSync],
      publishesTo: [props.operatorTopic],
      substitutions: {
        RollbackFunctionArn: this.rollback.functionArn,
        DeployModelFunctionArn: props.deployModel.functionArn,
        EndpointSyncStateMachineArn: props.endpointSync.stateMachineArn,
        OperatorTopicArn: props.operatorTopic.topicArn,
      },
    });
  }
}
