/**
 * The stacks' CloudFormation output ids. The stacks declare them, the CLI reads them from a
 * deployed stage (DescribeStacks), and the twin reads them from the synthesized templates.
 */
export const stackOutputs = {
  lakeBucketName: 'LakeBucketName',
  registryTableName: 'RegistryTableName',
  predictionLogTableName: 'PredictionLogTableName',
  /** Partitions of the prediction log per model and hour (readers read every one). */
  predictionLogShards: 'PredictionLogShards',
  operatorTopicArn: 'OperatorTopicArn',
  trainingStateMachineArn: 'TrainingStateMachineArn',
  promotionStateMachineArn: 'PromotionStateMachineArn',
  rollbackStateMachineArn: 'RollbackStateMachineArn',
  batchScoringStateMachineArn: 'BatchScoringStateMachineArn',
  apiUrl: 'ApiUrl',
  /** Each client's API key id, `<client>=<keyId>,...` (key ids are not secrets; `mlops keys` prints the values). */
  apiKeyIds: 'ApiKeyIds',
  dashboardName: 'DashboardName',
  /** The drift job function (`mlops drift` invokes it). */
  driftJobFunctionName: 'DriftJobFunctionName',
} as const;

/** An output id. */
export type StackOutputId = (typeof stackOutputs)[keyof typeof stackOutputs];

/** The platform's stacks, by the part of their name after `Mlops-<stage>-`. */
export const stackParts = ['Data', 'Pipeline', 'Serving', 'Monitoring'] as const;

/** A platform stack part. */
export type StackPart = (typeof stackParts)[number];

/** The name of a platform stack for a stage. */
export function stackName(stage: string, part: StackPart): string {
  return `Mlops-${stage}-${part}`;
}

/** The state machines an operator starts, and the output naming each one's ARN. */
export const stateMachineOutputs = {
  training: stackOutputs.trainingStateMachineArn,
  promotion: stackOutputs.promotionStateMachineArn,
  rollback: stackOutputs.rollbackStateMachineArn,
  batchScoring: stackOutputs.batchScoringStateMachineArn,
} as const;

/** A state machine an operator starts. */
export type MachineKind = keyof typeof stateMachineOutputs;
