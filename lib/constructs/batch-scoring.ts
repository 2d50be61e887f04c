import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { lakeKeys } from '../../contracts/lake.ts';
import { PIPELINES_DIR } from '../paths.ts';
import { AslStateMachine, grantOwnMapRuns } from './asl-state-machine.ts';
import type { DataLake } from './data-lake.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';

/** Properties of a {@link BatchScoring} pipeline. */
export interface BatchScoringProps {
  /** Settings shared by the pipeline's functions. */
  readonly functions: FunctionSettings;
  /** The lake: inputs are read from it, parts written to its `scores/` zone. */
  readonly lake: DataLake;
  /** The model registry: versions are read, the job is audited. */
  readonly registry: ModelRegistry;
  /**
   * Children running at once.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * The ASL definition.
   * @default pipelines/batch-scoring.asl.json
   */
  readonly definitionFile?: string;
}

/**
 * The batch-scoring pipeline: a state machine that scores a CSV object of the lake on a Distributed
 * Map, the function that scores one byte range of it, and the function at the job's two ends
 * (resolve the version and cut the input into ranges, record the job).
 */
export class BatchScoring extends Construct {
  /** The state machine and its log group. */
  public readonly machine: AslStateMachine;
  /** Scores one byte range of the input into a part. */
  public readonly scoreBatch: MlopsFunction<'score-batch'>;
  /** Resolves the job's version and records the finished job. */
  public readonly job: MlopsFunction<'score-batch-job'>;

  constructor(scope: Construct, id: string, props: BatchScoringProps) {
    super(scope, id);
    const concurrency = props.maxConcurrency ?? 10;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
      throw new Error(
        `BatchScoring maxConcurrency: must be a whole number from 1 to 10000, got ${concurrency}`,
      );
    }
    const { lake, registry } = props;
    this.scoreBatch = new MlopsFunction(this, 'ScoreBatch', {
      ...props.functions,
      name: 'score-batch',
      description: 'Scores one byte range of a batch-scoring job input into a part file',
      memorySize: 1024,
      timeout: Duration.minutes(5),
    })
      // Reads the version's model and transform and its range of the input (an upload under
      // scores/, or ingested data under raw/); writes the job's parts.
      .bindLake(lake, 'read', 'artifacts', 'scores', 'raw')
      .bindLake(lake, 'put', 'scores')
      .bindRegistry(registry, 'GetItem');
    this.job = new MlopsFunction(this, 'Job', {
      ...props.functions,
      name: 'score-batch-job',
      description:
        "Resolves a batch-scoring job's version, cuts its input into ranges, and records the finished job in the audit trail",
      timeout: Duration.minutes(2),
    })
      // Reads the input's size and header (scores/ or raw/) and the map's results, writes the job's
      // ranges; reads versions and the alias, writes the audit item.
      .bindLake(lake, 'read', 'scores', 'raw')
      .bindLake(lake, 'put', 'scores')
      .bindRegistry(registry, 'GetItem', 'PutItem');

    this.machine = new AslStateMachine(this, 'Machine', {
      definitionFile: props.definitionFile ?? join(PIPELINES_DIR, 'batch-scoring.asl.json'),
      logEncryptionKey: props.functions.logEncryptionKey,
      removalPolicy: props.functions.removalPolicy,
      invokes: [this.scoreBatch, this.job],
      substitutions: {
        ScoreFunctionArn: this.scoreBatch.functionArn,
        JobFunctionArn: this.job.functionArn,
        LakeBucket: lake.bucket.bucketName,
        MapResultsPrefix: lakeKeys.scoresMapResults,
        MaxConcurrency: String(concurrency),
      },
    });
    const machine = this.machine.stateMachine;
    // The map's ItemReader reads the job's ranges file under scores/; its ResultWriter writes the
    // children's results there.
    lake.grantRead(machine, 'scores');
    lake.grantPut(machine, 'scores');
    grantOwnMapRuns(machine, "The batch-scoring map reads the job's input in byte ranges.");
  }
}
