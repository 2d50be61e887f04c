import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { DataLake } from './data-lake.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { PredictionLog } from './prediction-log.ts';

/** Properties of a {@link DriftMonitor}. */
export interface DriftMonitorProps {
  /** Settings of the drift job function. */
  readonly functions: FunctionSettings;
  /** The data lake (training baselines and evaluation artifacts). */
  readonly lake: DataLake;
  /** The model registry (which version is in production). */
  readonly registry: ModelRegistry;
  /** The prediction log (the window the job compares with the baseline). */
  readonly predictionLog: PredictionLog;
  /**
   * Minutes between runs.
   * @default 60
   */
  readonly scheduleMinutes?: number;
}

/**
 * The drift job on a schedule: for each model in production it compares the distribution of the scores
 * served in the last window with the production version's validation scores (population stability
 * index) and emits the figure (`platformMetrics.predictionDrift`, per model) that the drift alarms watch. It measures
 * no input (feature) drift.
 */
export class DriftMonitor extends Construct {
  /** The drift job function. */
  public readonly job: MlopsFunction<'drift-job'>;
  /** The schedule rule. */
  public readonly schedule: events.Rule;
  /** The time between runs (also the period the drift alarms evaluate). */
  public readonly interval: Duration;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const minutes = props.scheduleMinutes ?? 60;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      throw new Error(`DriftMonitor scheduleMinutes: must be a whole number from 1 to 1440, got ${minutes}`);
    }
    this.interval = Duration.minutes(minutes);
    this.job = new MlopsFunction(this, 'DriftJob', {
      ...props.functions,
      name: 'drift-job',
      description:
        "Computes prediction drift: the PSI of each production model's served scores against its validation scores",
      timeout: Duration.minutes(5),
      // It runs over every deployed model, with each one's drift settings (minimum samples).
      includeModelDefinitions: true,
    })
      .bindRegistry(props.registry, 'read')
      .bindLake(props.lake, 'read', 'artifacts', 'baselines')
      .bindPredictionLogReader(props.predictionLog);
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Runs the drift job',
      // Spelled in minutes (not normalized to hours) so the schedule reads as configured.
      schedule: events.Schedule.expression(`rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`),
      targets: [new targets.LambdaFunction(this.job, { retryAttempts: 2, maxEventAge: this.interval })],
    });
  }
}
