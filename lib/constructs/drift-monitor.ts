/**
 * The drift job and its schedules: one EventBridge rule per model, because each model has its own
 * interval and window (`drift` in its model file), and the job's grants (reads the registry, the
 * baselines and the prediction log; writes reports).
 */
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
  /** Settings of the drift job function; each of its models gets a schedule of its own. */
  readonly functions: FunctionSettings;
  /** The data lake (training baselines read, drift reports written). */
  readonly lake: DataLake;
  /** The model registry (which version is in production, and its baseline). */
  readonly registry: ModelRegistry;
  /** The prediction log (the window the job compares with the baseline). */
  readonly predictionLog: PredictionLog;
}

/**
 * The drift job, run per model on the model's own schedule (`drift.scheduleMinutes`) over the model's
 * window (`drift.windowMinutes`): it compares the production version's served inputs and scores (and
 * a canary's or shadow's apart) with the version's training baseline, emits the drift metrics the
 * drift alarms watch, and writes its report to the lake's `reports/` zone.
 */
export class DriftMonitor extends Construct {
  /** The drift job function. */
  public readonly job: MlopsFunction<'drift-job'>;
  /** Each model's schedule rule, by model name. */
  public readonly schedules: Readonly<Record<string, events.Rule>>;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const { models } = props.functions;
    if (models.length === 0) throw new Error('DriftMonitor functions.models: at least one model is needed');
    this.job = new MlopsFunction(this, 'DriftJob', {
      ...props.functions,
      name: 'drift-job',
      description:
        "Measures drift per model: each input feature's and the served scores' PSI, JS distance, KS and null " +
        "rates against the production version's training baseline; writes a report and emits the metrics",
      timeout: Duration.minutes(5),
      // It runs over every deployed model, with each one's drift settings (bins, thresholds, minimum samples).
      includeModelDefinitions: true,
    })
      .bindRegistry(props.registry, 'GetItem')
      .bindLake(props.lake, 'read', 'artifacts', 'baselines')
      .bindPredictionLogReader(props.predictionLog);
    // Reports are only written (one new object per run), never read or deleted by the job.
    props.lake.grantPut(this.job, 'reports');

    const schedules: Record<string, events.Rule> = {};
    const scheduleScope = new Construct(this, 'Schedules');
    for (const model of models) {
      const { scheduleMinutes: minutes, windowMinutes } = model.drift;
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
        throw new Error(
          `DriftMonitor: model ${model.name} drift.scheduleMinutes must be a whole number from 1 to 1440, got ${minutes}`,
        );
      }
      schedules[model.name] = new events.Rule(scheduleScope, model.name, {
        description: `Runs the drift job for model ${model.name} every ${minutes} min over the last ${windowMinutes} min`,
        // Spelled in minutes (not normalized to hours) so the schedule reads as configured.
        schedule: events.Schedule.expression(`rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`),
        targets: [
          new targets.LambdaFunction(this.job, {
            event: events.RuleTargetInput.fromObject({ model: model.name, windowMinutes }),
            retryAttempts: 2,
            // A run that could not start before the next one is due is left to the next one.
            maxEventAge: Duration.minutes(minutes),
          }),
        ],
      });
    }
    this.schedules = schedules;
  }
}
