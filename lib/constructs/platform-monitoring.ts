/**
 * Every alarm, the rules that act on them, and the dashboard, in one construct. The alarm kinds, their
 * severity, their policy action and their names come from `contracts/alarms.ts`; the metrics from
 * `contracts/metrics.ts` through this construct's factories (`metric`, `metricFeatureDrift`) and the
 * other constructs' (`metricErrors`, `metricFailed`, `metricServerError`); each kind's M of N and
 * missing-data treatment from `alarm-evaluation.ts`; the thresholds from each model's policies.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type AlarmKind, alarmKinds, alarmName, runbookLink } from '../../contracts/alarms.ts';
import {
  FEATURE_DIMENSION,
  type MetricUnitName,
  MODEL_DIMENSION,
  metricNamespace,
  type PlatformMetric,
  platformMetrics,
} from '../../contracts/metrics.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import { type AlarmEvaluation, alarmEvaluation } from './alarm-evaluation.ts';

/** The kinds whose alarm exists once per model. */
export type ModelAlarmKind = {
  [K in AlarmKind]: (typeof alarmKinds)[K]['perModel'] extends true ? K : never;
}[AlarmKind];

/** The kinds whose alarm exists once per stage. */
export type StageAlarmKind = Exclude<AlarmKind, ModelAlarmKind>;

/** The platform metrics with the model as their one dimension (all but the per-feature one). */
export type ModelMetric = Exclude<PlatformMetric, 'featureDrift'>;

/** How a platform metric is read: its statistic, period and legend label. */
export interface PlatformMetricOptions {
  /**
   * The statistic, e.g. `Sum`, `Maximum`, `p99`.
   * @default 'Sum' for counts, 'Average' otherwise
   */
  readonly statistic?: string;
  /**
   * The period over which the statistic is computed.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * The label in graphs.
   * @default - the metric name
   */
  readonly label?: string;
}

const UNITS: Record<MetricUnitName, cloudwatch.Unit> = {
  Count: cloudwatch.Unit.COUNT,
  Milliseconds: cloudwatch.Unit.MILLISECONDS,
  None: cloudwatch.Unit.NONE,
};

/** Properties of {@link PlatformMonitoring}. */
export interface PlatformMonitoringProps {
  /** The platform stage: the metrics namespace `metricNamespace(stage)` and the alarm names. */
  readonly stage: string;
  /** The models; each gets its alarms, its rules and its dashboard section. */
  readonly models: readonly ModelDefinition[];
  /** Topic every alarm notifies, on ALARM and on OK. */
  readonly alarmTopic: sns.ITopic;
  /** State machine the `rollback` alarm kinds start, with `{"model", "trigger": "alarm", "alarm", "reason"}`. */
  readonly rollbackStateMachine: sfn.IStateMachine;
  /**
   * State machine the `retrain` alarm kinds (for models with `retraining.onDrift`) and the models'
   * retraining schedules start; its failures are alarmed.
   */
  readonly trainingStateMachine: sfn.IStateMachine;
  /** The predict function (graphed). */
  readonly predictFunction: lambda.IFunction;
  /** The prediction API (its deployment stage's 5xx rate is alarmed). */
  readonly api: apigw.RestApi;
  /** The drift job function; its failures are alarmed. */
  readonly driftJob: lambda.IFunction;
  /**
   * Where RUNBOOK.md is published; each alarm's description links to its kind's section.
   * @default 'RUNBOOK.md'
   */
  readonly runbookUrl?: string;
  /**
   * Short settings for the twin and demos: every alarm evaluates 60 s periods, 1 datapoint of 1.
   * @default false
   */
  readonly fast?: boolean;
}

/** The rules that act for one model. */
export interface ModelRules {
  /** Starts the rollback state machine when one of the model's `rollback` alarms enters ALARM. */
  readonly rollback: events.Rule;
  /** Starts the training state machine when a `retrain` alarm enters ALARM (with `retraining.onDrift`). */
  readonly retrain?: events.Rule;
  /** Starts the training state machine on `retraining.schedule`, when the model has one. */
  readonly schedule?: events.Rule;
}

/**
 * Every alarm and the dashboard, in one place. Per model, one alarm per per-model kind of
 * `contracts/alarms.ts` (`no-traffic` only with `alarms.expectTraffic`); per stage, one per stage kind.
 * Every alarm notifies the operator topic; EventBridge rules on `CloudWatch Alarm State Change` start
 * the rollback state machine for the `rollback` kinds and the training state machine for the `retrain`
 * kinds, and a model's retraining schedule starts training too.
 */
export class PlatformMonitoring extends Construct {
  /** The metrics namespace of the stage (`contracts/metrics.ts`). */
  public readonly namespace: string;
  /** Each model's alarms, by model name and kind. */
  public readonly modelAlarms: Readonly<
    Record<string, Readonly<Partial<Record<ModelAlarmKind, cloudwatch.Alarm>>>>
  >;
  /** The stage's alarms, by kind. */
  public readonly stageAlarms: Readonly<Record<StageAlarmKind, cloudwatch.Alarm>>;
  /** Each model's rules, by model name. */
  public readonly rules: Readonly<Record<string, ModelRules>>;
  /** Every alarm above. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The operator dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly stage: string;
  private readonly runbookUrl: string;
  private readonly fast: boolean;
  private readonly notify: actions.SnsAction;
  private readonly allAlarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    if (props.models.length === 0) {
      throw new Error('PlatformMonitoring models: at least one model is needed');
    }
    this.stage = props.stage;
    this.namespace = metricNamespace(props.stage);
    this.runbookUrl = props.runbookUrl ?? 'RUNBOOK.md';
    this.fast = props.fast ?? false;
    this.notify = new actions.SnsAction(props.alarmTopic);

    const modelAlarms: Record<string, Partial<Record<ModelAlarmKind, cloudwatch.Alarm>>> = {};
    const rules: Record<string, ModelRules> = {};
    for (const model of props.models) {
      // Each model's alarms and rules under a construct of its own, so that ids cannot collide.
      const modelScope = new Construct(this, `Model${idOf(model.name)}`);
      const alarms = this.modelAlarmsOf(modelScope, model);
      modelAlarms[model.name] = alarms;
      rules[model.name] = this.rulesOf(modelScope, model, alarms, props);
    }
    this.modelAlarms = modelAlarms;
    this.rules = rules;
    this.stageAlarms = this.stageAlarmsOf(props);
    this.alarms = this.allAlarms;
    this.dashboard = this.dashboardOf(props);
  }

  /**
   * A platform metric of one model, as the functions emit it (`contracts/metrics.ts`): the stage's
   * namespace, the metric's name and unit, the model as the one dimension. Every alarm and graph of a
   * platform metric is built here or in {@link metricFeatureDrift}.
   */
  public metric(model: string, key: ModelMetric, options: PlatformMetricOptions = {}): cloudwatch.Metric {
    if ((key as PlatformMetric) === 'featureDrift') {
      throw new Error('PlatformMonitoring metric: featureDrift is per feature; use metricFeatureDrift()');
    }
    return this.platformMetric(key, { [MODEL_DIMENSION]: model }, options);
  }

  /** The drift (PSI) of one feature of one model against its training baseline (dimensions `[Model, Feature]`). */
  public metricFeatureDrift(
    model: string,
    feature: string,
    options: PlatformMetricOptions = {},
  ): cloudwatch.Metric {
    return this.platformMetric(
      'featureDrift',
      { [MODEL_DIMENSION]: model, [FEATURE_DIMENSION]: feature },
      { statistic: cloudwatch.Stats.MAXIMUM, ...options },
    );
  }

  private platformMetric(
    key: PlatformMetric,
    dimensionsMap: Record<string, string>,
    options: PlatformMetricOptions,
  ): cloudwatch.Metric {
    const { name, unit } = platformMetrics[key];
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName: name,
      unit: UNITS[unit],
      dimensionsMap,
      statistic: options.statistic ?? (unit === 'Count' ? cloudwatch.Stats.SUM : cloudwatch.Stats.AVERAGE),
      period: options.period ?? Duration.minutes(5),
      label: options.label,
    });
  }

  /** One alarm per per-model kind, each from the model's own thresholds. */
  private modelAlarmsOf(
    scope: Construct,
    model: ModelDefinition,
  ): Partial<Record<ModelAlarmKind, cloudwatch.Alarm>> {
    const { drift, alarms: budget } = model;
    const context = { driftScheduleMinutes: drift.scheduleMinutes, fast: this.fast };
    const add = (kind: ModelAlarmKind, spec: (e: AlarmEvaluation) => AlarmSpec) => {
      const evaluation = alarmEvaluation(kind, context);
      return this.addAlarm(scope, kind, model, evaluation, spec(evaluation));
    };
    const m = (key: ModelMetric, statistic: string) => (e: AlarmEvaluation) =>
      this.metric(model.name, key, { statistic, period: e.period });
    const { MAXIMUM, SUM, AVERAGE } = cloudwatch.Stats;
    const { GREATER_THAN_OR_EQUAL_TO_THRESHOLD: atLeast, GREATER_THAN_THRESHOLD: above } =
      cloudwatch.ComparisonOperator;
    const percent = (share: number) => `${Number((share * 100).toFixed(4))}%`;

    const result: Partial<Record<ModelAlarmKind, cloudwatch.Alarm>> = {};
    result['prediction-drift'] = add('prediction-drift', (e) => ({
      metric: m('predictionDrift', MAXIMUM)(e),
      threshold: drift.psiAlarm,
      comparison: atLeast,
      meaning: `the PSI of the scores model ${model.name} served over its last ${drift.windowMinutes} min against its validation scores reached ${drift.psiAlarm}`,
    }));
    result['feature-drift'] = add('feature-drift', (e) => ({
      metric: m('maxFeatureDrift', MAXIMUM)(e),
      threshold: drift.psiAlarm,
      comparison: atLeast,
      meaning: `the PSI of an input feature of model ${model.name} over its last ${drift.windowMinutes} min against its training baseline reached ${drift.psiAlarm}`,
    }));
    result['null-rate'] = add('null-rate', (e) => ({
      metric: m('maxNullRateIncrease', MAXIMUM)(e),
      threshold: drift.nullRateIncreaseAlarm,
      comparison: atLeast,
      meaning: `the null rate of an input feature of model ${model.name} over its last ${drift.windowMinutes} min rose ${percent(drift.nullRateIncreaseAlarm)} or more above its training null rate`,
    }));
    result['server-errors'] = add('server-errors', (e) => ({
      metric: m('serverErrors', AVERAGE)(e),
      threshold: budget.serverErrorRate,
      comparison: above,
      meaning: `more than ${percent(budget.serverErrorRate)} of the requests for model ${model.name} were answered with a 5xx`,
    }));
    result.latency = add('latency', (e) => ({
      metric: m('latency', cloudwatch.Stats.p(99))(e),
      threshold: budget.latencyP99Ms,
      comparison: above,
      meaning: `the p99 latency of the predictions of model ${model.name} exceeded ${budget.latencyP99Ms} ms`,
    }));
    result['model-errors'] = add('model-errors', (e) => ({
      metric: m('modelErrors', SUM)(e),
      threshold: budget.modelErrors,
      comparison: atLeast,
      meaning: `model ${model.name} failed to score ${budget.modelErrors} or more requests, each answered with a 503`,
    }));
    result['invalid-requests'] = add('invalid-requests', (e) => ({
      metric: m('invalidRequests', SUM)(e),
      threshold: budget.invalidRequests,
      comparison: atLeast,
      meaning: `${budget.invalidRequests} or more requests for model ${model.name} were refused as invalid (4xx): a client sends what the model's spec does not accept`,
    }));
    if (budget.expectTraffic) {
      result['no-traffic'] = add('no-traffic', (e) => ({
        metric: m('predictions', SUM)(e),
        threshold: 1,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        meaning: `model ${model.name}, which expects traffic (alarms.expectTraffic), served no prediction`,
      }));
    }
    result['feature-schema'] = add('feature-schema', (e) => ({
      metric: m('featureSchemaMismatch', SUM)(e),
      threshold: 1,
      comparison: atLeast,
      meaning: `the production version of model ${model.name} is refused (503 FeatureSchemaMismatch): its feature-schema hash does not match what the serving code computes`,
    }));
    result['log-write-failures'] = add('log-write-failures', (e) => ({
      metric: m('predictionLogWriteFailures', SUM)(e),
      threshold: 1,
      comparison: atLeast,
      meaning: `prediction-log rows of model ${model.name} could not be written; those requests were answered 503 (nothing is served unlogged)`,
    }));
    return result;
  }

  /** One alarm per stage kind. */
  private stageAlarmsOf(props: PlatformMonitoringProps): Record<StageAlarmKind, cloudwatch.Alarm> {
    const stage = new Construct(this, 'Stage');
    const shortestDrift = Math.min(...props.models.map((m) => m.drift.scheduleMinutes));
    const context = { driftScheduleMinutes: shortestDrift, fast: this.fast };
    const { SUM, AVERAGE } = cloudwatch.Stats;
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const add = (kind: StageAlarmKind, spec: (e: AlarmEvaluation) => AlarmSpec) => {
      const evaluation = alarmEvaluation(kind, context);
      return this.addAlarm(stage, kind, undefined, evaluation, spec(evaluation));
    };
    // The API serves every model: it is held to the strictest of their 5xx budgets.
    const apiRate = Math.min(...props.models.map((m) => m.alarms.serverErrorRate));
    return {
      'training-failure': add('training-failure', (e) => ({
        metric: props.trainingStateMachine.metricFailed({ period: e.period, statistic: SUM }),
        threshold: 1,
        comparison: atLeast,
        meaning: 'an execution of the training state machine failed (a refused lease is not a failure)',
      })),
      'drift-job-errors': add('drift-job-errors', (e) => ({
        metric: props.driftJob.metricErrors({ period: e.period, statistic: SUM }),
        threshold: 1,
        comparison: atLeast,
        meaning:
          'the drift job failed: drift is not being measured, and the drift alarms keep their last state',
      })),
      'api-server-errors': add('api-server-errors', (e) => ({
        metric: props.api.deploymentStage.metricServerError({ period: e.period, statistic: AVERAGE }),
        threshold: apiRate,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        meaning: `more than ${Number((apiRate * 100).toFixed(4))}% of the prediction API's requests were answered with a 5xx by API Gateway (including failures before the predict function answers)`,
      })),
    };
  }

  /** An alarm named, described and notifying as `contracts/alarms.ts` says. */
  private addAlarm(
    scope: Construct,
    kind: AlarmKind,
    model: ModelDefinition | undefined,
    evaluation: AlarmEvaluation,
    spec: AlarmSpec,
  ): cloudwatch.Alarm {
    const { severity } = alarmKinds[kind];
    const window = `${evaluation.datapointsToAlarm} of ${evaluation.evaluationPeriods} periods of ${durationText(evaluation.period)}`;
    const alarm = new cloudwatch.Alarm(scope, `${idOf(kind)}Alarm`, {
      alarmName: alarmName(this.stage, kind, model?.name),
      alarmDescription: `[${severity}] ${capitalize(spec.meaning)} (${window}); ${this.consequence(kind, model)}. Runbook: ${runbookLink(this.runbookUrl, kind)}`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison,
      evaluationPeriods: evaluation.evaluationPeriods,
      datapointsToAlarm: evaluation.datapointsToAlarm,
      treatMissingData: evaluation.treatMissingData,
    });
    alarm.addAlarmAction(this.notify);
    alarm.addOkAction(this.notify);
    this.allAlarms.push(alarm);
    return alarm;
  }

  /** What the platform does when an alarm of `kind` fires (the alarm policy of contracts/alarms.ts). */
  private consequence(kind: AlarmKind, model: ModelDefinition | undefined): string {
    const action = alarmKinds[kind].action;
    if (model && action === 'rollback') {
      return (
        `the platform starts the rollback state machine for ${model.name}: a version promoted less than ` +
        `${model.alarms.guardWindowHours} h ago goes back to the last version that served healthily (operators are paged ` +
        'when there is none), an older one keeps serving; operators are notified'
      );
    }
    if (model && action === 'retrain') {
      return model.retraining.onDrift
        ? `the platform starts the training state machine for ${model.name} (one run per model at a time, by lease; ` +
            'the candidate still has to pass promotion); operators are notified'
        : `operators are notified; retraining on drift is off for ${model.name} (retraining.onDrift)`;
    }
    return 'operators are notified; nothing else is done automatically';
  }

  /** The model's rules: rollback and retraining on its alarms, and its retraining schedule. */
  private rulesOf(
    scope: Construct,
    model: ModelDefinition,
    alarms: Partial<Record<ModelAlarmKind, cloudwatch.Alarm>>,
    props: PlatformMonitoringProps,
  ): ModelRules {
    const ofAction = (action: 'rollback' | 'retrain') =>
      (Object.entries(alarms) as [ModelAlarmKind, cloudwatch.Alarm][])
        .filter(([kind]) => alarmKinds[kind].action === action)
        .map(([, alarm]) => alarm);
    // The state machines read the alarm's name (its kind) and CloudWatch's reason (the datapoints and
    // the threshold) to decide and to write the audit item.
    const onAlarm = (ruleId: string, action: 'rollback' | 'retrain', machine: sfn.IStateMachine) =>
      new events.Rule(scope, ruleId, {
        description: `Starts the ${action === 'rollback' ? 'rollback' : 'training'} state machine for model ${model.name} when one of its ${action} alarms enters ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: ofAction(action).map((a) => a.alarmArn),
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [
          new targets.SfnStateMachine(machine, {
            input: events.RuleTargetInput.fromObject({
              model: model.name,
              trigger: 'alarm',
              alarm: events.EventField.fromPath('$.detail.alarmName'),
              reason: events.EventField.fromPath('$.detail.state.reason'),
            }),
          }),
        ],
      });
    const rollback = onAlarm('RollbackOnAlarm', 'rollback', props.rollbackStateMachine);
    const retrain = model.retraining.onDrift
      ? onAlarm('RetrainOnAlarm', 'retrain', props.trainingStateMachine)
      : undefined;
    const expression = model.retraining.schedule;
    const schedule =
      expression === undefined
        ? undefined
        : new events.Rule(scope, 'RetrainSchedule', {
            description: `Retrains model ${model.name} on its schedule, ${expression}`,
            schedule: events.Schedule.expression(checkedSchedule(model.name, expression)),
            targets: [
              new targets.SfnStateMachine(props.trainingStateMachine, {
                input: events.RuleTargetInput.fromObject({
                  model: model.name,
                  trigger: 'schedule',
                  reason: `schedule ${expression}`,
                }),
              }),
            ],
          });
    return { rollback, ...(retrain ? { retrain } : {}), ...(schedule ? { schedule } : {}) };
  }

  private dashboardOf(props: PlatformMonitoringProps): cloudwatch.Dashboard {
    const apiStage = props.api.deploymentStage;
    const { SUM } = cloudwatch.Stats;
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# ML platform (${props.stage})\nPredictions, latency, errors and drift per model. Every alarm notifies the operator topic; each one's description links to its section of the runbook (${this.runbookUrl}).`,
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Platform alarms',
            alarms: Object.values(this.stageAlarms),
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'API requests',
            left: [
              apiStage.metricCount({ statistic: SUM, label: 'Requests' }),
              apiStage.metricClientError({ statistic: SUM, label: '4xx' }),
              apiStage.metricServerError({ statistic: SUM, label: '5xx' }),
            ],
            width: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'API latency (ms)',
            left: [
              apiStage.metricLatency({ statistic: cloudwatch.Stats.p(50), label: 'p50' }),
              apiStage.metricLatency({ statistic: cloudwatch.Stats.p(99), label: 'p99' }),
            ],
            width: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Predict and drift job functions',
            left: [
              props.predictFunction.metricInvocations({ statistic: SUM, label: 'Predict invocations' }),
              props.predictFunction.metricErrors({ statistic: SUM, label: 'Predict errors' }),
              props.predictFunction.metricThrottles({ statistic: SUM, label: 'Predict throttles' }),
              props.driftJob.metricInvocations({ statistic: SUM, label: 'Drift job runs' }),
              props.driftJob.metricErrors({ statistic: SUM, label: 'Drift job errors' }),
            ],
            width: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Training executions',
            left: [
              props.trainingStateMachine.metricStarted({ statistic: SUM, label: 'Started' }),
              props.trainingStateMachine.metricSucceeded({ statistic: SUM, label: 'Succeeded' }),
              props.trainingStateMachine.metricFailed({ statistic: SUM, label: 'Failed' }),
            ],
            width: 6,
          }),
        ],
        ...props.models.flatMap((model) => this.modelSection(model)),
      ],
    });
  }

  /** A model's section: its alarms, its traffic and errors, and its drift. */
  private modelSection(model: ModelDefinition): cloudwatch.IWidget[][] {
    const m = (key: ModelMetric, statistic: string, label: string, period?: Duration) =>
      this.metric(model.name, key, { statistic, label, period });
    const { SUM, MAXIMUM, AVERAGE } = cloudwatch.Stats;
    const alarms = this.modelAlarms[model.name]!;
    const driftPeriod = Duration.minutes(model.drift.scheduleMinutes);
    const d = (key: ModelMetric, label: string) => m(key, MAXIMUM, label, driftPeriod);
    const psiLines = [
      { value: model.drift.psiWarn, label: 'warn', color: cloudwatch.Color.ORANGE },
      { value: model.drift.psiAlarm, label: 'alarm', color: cloudwatch.Color.RED },
    ];
    return [
      [
        new cloudwatch.TextWidget({
          markdown: `## Model ${model.name}\n${model.description}`,
          width: 24,
          height: 2,
        }),
      ],
      [
        new cloudwatch.AlarmStatusWidget({
          title: `${model.name}: alarms`,
          alarms: Object.values(alarms),
          width: 24,
          height: 3,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: `${model.name}: predictions`,
          left: [m('predictions', SUM, 'Predictions')],
          right: [m('serverErrors', AVERAGE, '5xx rate')],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: latency (ms)`,
          left: [m('latency', cloudwatch.Stats.p(50), 'p50'), m('latency', cloudwatch.Stats.p(99), 'p99')],
          leftAnnotations: [{ value: model.alarms.latencyP99Ms, label: 'p99 budget' }],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: request errors`,
          left: [
            m('invalidRequests', SUM, 'Invalid requests'),
            m('upstreamErrors', SUM, 'Upstream errors'),
            m('modelErrors', SUM, 'Model errors'),
            m('featureSchemaMismatch', SUM, 'Feature schema mismatch'),
            m('noProductionModel', SUM, 'No production model'),
            m('predictionLogWriteFailures', SUM, 'Log write failures'),
            m('circuitOpen', SUM, 'Endpoint circuit open'),
            m('shadowHandoffFailures', SUM, 'Shadow hand-off failures'),
          ],
          right: [m('idempotentReplays', SUM, 'Idempotent replays')],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: drift samples`,
          left: [m('driftSamples', SUM, 'Rows in the window', driftPeriod)],
          leftAnnotations: [{ value: model.drift.minSamples, label: 'minSamples' }],
          width: 6,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: `${model.name}: prediction drift`,
          left: [d('predictionDrift', 'Score PSI')],
          right: [d('scoreMeanShift', 'Score mean shift')],
          leftAnnotations: psiLines,
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: max feature PSI`,
          left: [d('maxFeatureDrift', 'Max feature PSI')],
          leftAnnotations: psiLines,
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: nulls and unseen categories`,
          left: [
            d('maxNullRateIncrease', 'Max null-rate increase'),
            d('maxUnseenCategoryShare', 'Max unseen-category share'),
          ],
          leftAnnotations: [{ value: model.drift.nullRateIncreaseAlarm, label: 'null-rate alarm' }],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: PSI per feature`,
          left: model.spec.features.map((f) =>
            this.metricFeatureDrift(model.name, f.name, { label: f.name, period: driftPeriod }),
          ),
          leftAnnotations: psiLines,
          legendPosition: cloudwatch.LegendPosition.RIGHT,
          width: 6,
        }),
      ],
    ];
  }
}

/** What an alarm watches and when it breaches; the evaluation comes from its kind. */
interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  /** What the alarm means, for its description. */
  readonly meaning: string;
}

/**
 * A retraining schedule EventBridge accepts: the model schema checks the shape, and EventBridge also
 * wants the unit singular for 1 and plural otherwise (`rate(1 day)`, `rate(7 days)`).
 */
function checkedSchedule(model: string, expression: string): string {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const plural = rate[2]!.endsWith('s');
    if (n < 1 || (n === 1) === plural) {
      const unit = rate[2]!.replace(/s$/, '');
      throw new Error(
        `Model ${model} retraining.schedule: "${expression}" is not a schedule EventBridge accepts; write ${n < 1 ? `a rate of at least 1, e.g. rate(1 ${unit})` : `rate(${n} ${n === 1 ? unit : `${unit}s`})`}`,
      );
    }
  }
  return expression;
}

/** `15 min`, `60 s`, `2 h`. */
function durationText(d: Duration): string {
  const seconds = d.toSeconds();
  if (seconds <= 60) return `${seconds} s`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${seconds / 60} min`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A construct id fragment for a model or kind name (`credit-risk` → `CreditRisk`). */
function idOf(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
