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
import {
  type MetricUnitName,
  MODEL_DIMENSION,
  metricNamespace,
  type PlatformMetric,
  platformMetrics,
} from '../../contracts/metrics.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';

/** How urgent an alarm is; it prefixes the alarm description. */
export type Severity = 'critical' | 'warning';

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
  /** The platform stage; its metrics live in the namespace `metricNamespace(stage)`. */
  readonly stage: string;
  /** The models; each gets its drift alarm, its rollback rule and its dashboard section. */
  readonly models: readonly ModelDefinition[];
  /** Topic every alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /** State machine a drift alarm starts, with `{"model", "reason"}`. */
  readonly rollbackStateMachine: sfn.IStateMachine;
  /** The predict function. */
  readonly predictFunction: lambda.IFunction;
  /** The prediction API (its deployment stage is watched). */
  readonly api: apigw.RestApi;
  /**
   * The drift job function; its failures are alarmed.
   * @default - no drift job alarm
   */
  readonly driftJob?: lambda.IFunction;
  /**
   * Time between drift job runs, the period of the drift alarms.
   * @default Duration.minutes(60)
   */
  readonly driftInterval?: Duration;
  /**
   * Errors of the predict function in 5 minutes that raise the alarm.
   * @default 5
   */
  readonly predictErrorsThreshold?: number;
  /**
   * HTTP 5xx responses of the API in 5 minutes that raise the alarm.
   * @default 5
   */
  readonly apiServerErrorsThreshold?: number;
}

/**
 * Every alarm and the dashboard, in one place. Per model: a prediction drift alarm (threshold from the
 * model file) that notifies operators and, through an EventBridge rule on its state change, starts the
 * rollback state machine; a dashboard section with predictions, latency, request errors and drift.
 * Platform-wide: alarms on predict function errors, API 5xx and drift job failures.
 */
export class PlatformMonitoring extends Construct {
  /** The metrics namespace of the stage (`contracts/metrics.ts`). */
  public readonly namespace: string;
  /** The drift alarm of each model, by model name. */
  public readonly driftAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The alarm on served requests refused for a feature-schema mismatch, by model name. */
  public readonly featureSchemaAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The rule that rolls each model back when its drift alarm fires, by model name. */
  public readonly rollbackRules: Readonly<Record<string, events.Rule>>;
  /** Alarm on predict function errors. */
  public readonly predictErrorsAlarm: cloudwatch.Alarm;
  /** Alarm on API 5xx responses. */
  public readonly apiServerErrorsAlarm: cloudwatch.Alarm;
  /** Alarm on drift job failures, when a drift job was given. */
  public readonly driftJobErrorsAlarm?: cloudwatch.Alarm;
  /** Every alarm above. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The operator dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    if (props.models.length === 0) {
      throw new Error('PlatformMonitoring models: at least one model is needed');
    }
    const driftInterval = props.driftInterval ?? Duration.minutes(60);
    if (driftInterval.toMinutes() < 1 || driftInterval.toMinutes() > 1440) {
      throw new Error(
        `PlatformMonitoring driftInterval: must be 1 to 1440 minutes, got ${driftInterval.toMinutes()}`,
      );
    }
    for (const [name, value] of [
      ['predictErrorsThreshold', props.predictErrorsThreshold],
      ['apiServerErrorsThreshold', props.apiServerErrorsThreshold],
    ] as const) {
      if (value !== undefined && !(value >= 1)) {
        throw new Error(`PlatformMonitoring ${name}: must be at least 1, got ${value}`);
      }
    }
    this.namespace = metricNamespace(props.stage);
    const notify = new actions.SnsAction(props.alarmTopic);
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (
      alarmId: string,
      severity: Severity,
      description: string,
      options: cloudwatch.AlarmProps,
    ) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        ...options,
        alarmDescription: `[${severity}] ${description}`,
      });
      a.addAlarmAction(notify);
      alarms.push(a);
      return a;
    };

    const driftAlarms: Record<string, cloudwatch.Alarm> = {};
    const rollbackRules: Record<string, events.Rule> = {};
    const schemaAlarms: Record<string, cloudwatch.Alarm> = {};
    for (const model of props.models) {
      const drift = alarm(
        `${idOf(model.name)}DriftAlarm`,
        'critical',
        `Prediction drift (PSI) of model ${model.name} reached ${model.drift.psiAlarm}; the model is rolled back.`,
        {
          metric: this.metric(model.name, 'predictionDrift', {
            statistic: cloudwatch.Stats.MAXIMUM,
            period: driftInterval,
          }),
          threshold: model.drift.psiAlarm,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
      driftAlarms[model.name] = drift;
      schemaAlarms[model.name] = alarm(
        `${idOf(model.name)}FeatureSchemaMismatchAlarm`,
        'critical',
        `Model ${model.name} is refused by the predict function: its feature-schema hash does not match what the serving code computes. Promote a version trained with the current feature code, or roll back.`,
        {
          metric: this.metric(model.name, 'featureSchemaMismatch', { statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
      rollbackRules[model.name] = new events.Rule(this, `${idOf(model.name)}RollbackOnDrift`, {
        description: `Rolls model ${model.name} back when its drift alarm enters ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: [drift.alarmArn],
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [
          new targets.SfnStateMachine(props.rollbackStateMachine, {
            input: events.RuleTargetInput.fromObject({
              model: model.name,
              reason: `${drift.alarmName} in ALARM`,
            }),
          }),
        ],
      });
    }
    this.driftAlarms = driftAlarms;
    this.featureSchemaAlarms = schemaAlarms;
    this.rollbackRules = rollbackRules;

    const fiveMinutes = Duration.minutes(5);
    this.predictErrorsAlarm = alarm(
      'PredictErrorsAlarm',
      'critical',
      'The predict function is failing (unhandled errors).',
      {
        metric: props.predictFunction.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: props.predictErrorsThreshold ?? 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    const apiStage = props.api.deploymentStage;
    this.apiServerErrorsAlarm = alarm('ApiServerErrorsAlarm', 'critical', 'The prediction API returns 5xx.', {
      metric: apiStage.metricServerError({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      threshold: props.apiServerErrorsThreshold ?? 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.driftJob) {
      this.driftJobErrorsAlarm = alarm(
        'DriftJobErrorsAlarm',
        'warning',
        'The drift job failed: drift is not being measured.',
        {
          metric: props.driftJob.metricErrors({ period: driftInterval, statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    }
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# ML platform (${props.stage})\nPredictions, latency, errors and drift per model; alarms notify the operator topic.`,
            width: 24,
            height: 2,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 })],
        [
          new cloudwatch.GraphWidget({
            title: 'API requests',
            left: [
              apiStage.metricCount({ statistic: cloudwatch.Stats.SUM, label: 'Requests' }),
              apiStage.metricClientError({ statistic: cloudwatch.Stats.SUM, label: '4xx' }),
              apiStage.metricServerError({ statistic: cloudwatch.Stats.SUM, label: '5xx' }),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'API latency (ms)',
            left: [
              apiStage.metricLatency({ statistic: cloudwatch.Stats.p(50), label: 'p50' }),
              apiStage.metricLatency({ statistic: cloudwatch.Stats.p(99), label: 'p99' }),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Predict function',
            left: [
              props.predictFunction.metricInvocations({
                statistic: cloudwatch.Stats.SUM,
                label: 'Invocations',
              }),
              props.predictFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, label: 'Errors' }),
              props.predictFunction.metricThrottles({ statistic: cloudwatch.Stats.SUM, label: 'Throttles' }),
            ],
            width: 8,
          }),
        ],
        ...props.models.flatMap((model) => this.modelSection(model, driftAlarms[model.name]!, driftInterval)),
      ],
    });
  }

  /**
   * A platform metric of one model, as the functions emit it (`contracts/metrics.ts`): the stage's
   * namespace, the metric's name and unit, the model as the one dimension. Every alarm and graph of a
   * platform metric is built here.
   */
  public metric(model: string, key: PlatformMetric, options: PlatformMetricOptions = {}): cloudwatch.Metric {
    const { name, unit } = platformMetrics[key];
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName: name,
      unit: UNITS[unit],
      dimensionsMap: { [MODEL_DIMENSION]: model },
      statistic: options.statistic ?? (unit === 'Count' ? cloudwatch.Stats.SUM : cloudwatch.Stats.AVERAGE),
      period: options.period ?? Duration.minutes(5),
      label: options.label,
    });
  }

  private modelSection(
    model: ModelDefinition,
    driftAlarm: cloudwatch.Alarm,
    driftInterval: Duration,
  ): cloudwatch.IWidget[][] {
    const m = (key: PlatformMetric, statistic: string, label: string, period?: Duration) =>
      this.metric(model.name, key, { statistic, label, period });
    return [
      [
        new cloudwatch.TextWidget({
          markdown: `## Model ${model.name}\n${model.description}`,
          width: 24,
          height: 2,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: `${model.name}: predictions`,
          left: [m('predictions', cloudwatch.Stats.SUM, 'Predictions')],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: latency (ms)`,
          left: [m('latency', cloudwatch.Stats.p(50), 'p50'), m('latency', cloudwatch.Stats.p(99), 'p99')],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: request errors`,
          left: [
            m('invalidRequests', cloudwatch.Stats.SUM, 'Invalid requests'),
            m('upstreamErrors', cloudwatch.Stats.SUM, 'Upstream errors'),
            m('modelErrors', cloudwatch.Stats.SUM, 'Model errors'),
            m('featureSchemaMismatch', cloudwatch.Stats.SUM, 'Feature schema mismatch'),
            m('noProductionModel', cloudwatch.Stats.SUM, 'No production model'),
          ],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${model.name}: prediction drift (PSI)`,
          left: [m('predictionDrift', cloudwatch.Stats.MAXIMUM, 'PSI', driftInterval)],
          leftAnnotations: [driftAlarm.toAnnotation()],
          width: 6,
        }),
      ],
    ];
  }
}

/** A construct id fragment for a model name (`credit-risk` → `CreditRisk`). */
function idOf(model: string): string {
  return model
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
