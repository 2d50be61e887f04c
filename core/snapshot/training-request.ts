/**
 * What the training job is asked for, from the snapshot it trains on: its name, its hyperparameters
 * and its input channels. The name starts with the stage's prefix (contracts/names.ts), which the
 * stage's IAM grant is scoped by, and follows from the request alone: the same snapshot, seed and
 * instant give the same name, so nothing random goes into it.
 */
import { sha256Hex } from '../features/golden.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { sagemakerName } from '../serving/endpoint-names.ts';

/**
 * The longest prefix a name keeps whole: `sagemakerName` keeps the first 54 characters of a name it
 * shortens, and a model name starts with a letter, so its cut never reaches into a prefix this long.
 */
const MAX_PREFIX = 40;
const PREFIX = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;

/**
 * Returns the prefix if a training job name can start with it (1 to 40 characters of a-z, A-Z, 0-9
 * and -, starting with a letter or digit), else throws an error naming the prefix.
 */
export function checkTrainingJobPrefix(prefix: string): string {
  if (prefix.length > MAX_PREFIX || !PREFIX.test(prefix)) {
    throw new Error(
      `The training job prefix "${prefix}" (TRAINING_JOB_PREFIX) must be 1 to ${MAX_PREFIX} characters of a-z, A-Z, 0-9 and -, starting with a letter or digit; the stage's construct sets it from trainingJobPrefix(stage) in contracts/names.ts.`,
    );
  }
  return prefix;
}

/** `yyyymmddhhmmss` in UTC: a name's timestamp, sorting as the instants do. */
export function nameTimestamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Six hex digits of a hash of the snapshot, the seed and the instant (to the millisecond): two
 * requests in the same second get different names, and the same request at the same instant the
 * same name.
 */
export function trainingJobSuffix(snapshotId: string, seed: number, at: Date): string {
  return sha256Hex(JSON.stringify([snapshotId, seed, at.toISOString()])).slice(0, 6);
}

/** What a training job's name is made of. */
export interface TrainingJobNameParts {
  /** The stage's prefix, `mlops-<stage>--`. */
  prefix: string;
  model: string;
  snapshotId: string;
  seed: number;
  /** When the job is requested. */
  at: Date;
}

/**
 * `<prefix><model>-<snapshot id's first 8>-<yyyymmddhhmmss>-<suffix>`: a valid SageMaker name (at
 * most 63 of [a-zA-Z0-9-]) that starts with the whole prefix; when too long, the part after the
 * prefix is cut and ends with a hash of the whole name instead, as endpoint names do.
 */
export function trainingJobName(parts: TrainingJobNameParts): string {
  const prefix = checkTrainingJobPrefix(parts.prefix);
  return sagemakerName(
    `${prefix}${parts.model}`,
    parts.snapshotId.slice(0, 8),
    nameTimestamp(parts.at),
    trainingJobSuffix(parts.snapshotId, parts.seed, parts.at),
  );
}

/**
 * The job's hyperparameters as SageMaker takes them (strings): the model's own, the seed, and the
 * two that select script mode (`sagemaker_program`, `sagemaker_submit_directory`, JSON-encoded).
 */
export function trainingHyperParameters(
  def: Pick<ModelDefinition, 'training'>,
  seed: number,
  sourceUri: string,
): Record<string, string> {
  const hyperParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(def.training.hyperparameters)) hyperParameters[k] = String(v);
  hyperParameters.seed = String(seed);
  hyperParameters.sagemaker_program = JSON.stringify('train.py');
  hyperParameters.sagemaker_submit_directory = JSON.stringify(sourceUri);
  return hyperParameters;
}

/** The job's input channels: the S3 prefixes of the training and validation matrices. */
export function trainingChannels(
  bucket: string,
  prefixes: { train: string; validation: string },
): { train: string; validation: string } {
  return { train: `s3://${bucket}/${prefixes.train}`, validation: `s3://${bucket}/${prefixes.validation}` };
}

/** How the train channel reaches the instances. */
export type DataDistribution = 'FullyReplicated' | 'ShardedByS3Key';

/**
 * The job's instances: with more than one, each gets a share of the train split's part files
 * (`ShardedByS3Key`); the validation split is always whole on every instance.
 */
export function trainingResources(def: Pick<ModelDefinition, 'training'>): {
  instanceCount: number;
  trainDistribution: DataDistribution;
} {
  const instanceCount = def.training.instanceCount ?? 1;
  return { instanceCount, trainDistribution: instanceCount > 1 ? 'ShardedByS3Key' : 'FullyReplicated' };
}

/** What the training request is built from. */
export interface TrainingRequestInput {
  def: Pick<ModelDefinition, 'name' | 'training'>;
  snapshotId: string;
  seed: number;
  at: Date;
  /** The stage's training job prefix. */
  jobPrefix: string;
  /** S3 URI of the training code tarball. */
  sourceUri: string;
  bucket: string;
  /** The lake prefixes of the training and validation matrices. */
  channelPrefixes: { train: string; validation: string };
}

/** The training job's name, hyperparameters, channels and instances. */
export interface TrainingRequest {
  trainingJobName: string;
  hyperParameters: Record<string, string>;
  channels: { train: string; validation: string };
  resources: ReturnType<typeof trainingResources>;
}

/** Builds the training request for a snapshot. */
export function trainingRequest(input: TrainingRequestInput): TrainingRequest {
  return {
    trainingJobName: trainingJobName({
      prefix: input.jobPrefix,
      model: input.def.name,
      snapshotId: input.snapshotId,
      seed: input.seed,
      at: input.at,
    }),
    hyperParameters: trainingHyperParameters(input.def, input.seed, input.sourceUri),
    channels: trainingChannels(input.bucket, input.channelPrefixes),
    resources: trainingResources(input.def),
  };
}
