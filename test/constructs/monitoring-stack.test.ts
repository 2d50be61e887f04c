import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AlarmKind, alarmKinds, alarmName, parseAlarmName } from '../../contracts/alarms.ts';
import { lakeZones } from '../../contracts/lake.ts';
import {
  FEATURE_DIMENSION,
  MODEL_DIMENSION,
  metricNamespace,
  platformMetrics,
} from '../../contracts/metrics.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import { buildApp } from '../../lib/app.ts';
import { buildConfig, type PlatformConfig, readCdkJsonContext } from '../../lib/config.ts';
import { DriftMonitor } from '../../lib/constructs/drift-monitor.ts';
import { PlatformMonitoring } from '../../lib/constructs/platform-monitoring.ts';
import { addComplianceChecks } from '../../lib/nag.ts';
import { MODELS_DIR, PROJECT_ROOT } from '../../lib/paths.ts';
import { functionNamed, type SynthResult, synthPlatform, validationViolations } from './fixture.ts';

type Resource = { Properties: Record<string, unknown> };

let synth: SynthResult;
let template: Template;

beforeAll(() => {
  synth = synthPlatform();
  template = Template.fromStack(synth.stacks.monitoring);
});

const credit = () => synth.config.models.find((m) => m.name === 'credit')!;

function alarms(t: Template): Resource[] {
  return Object.values(t.findResources('AWS::CloudWatch::Alarm')) as Resource[];
}

function alarmOf(t: Template, name: string): Resource {
  const found = alarms(t).filter((a) => a.Properties.AlarmName === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

function logicalIdOf(t: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(t.findResources(type, { Properties: props }));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

function machineExport(result: SynthResult, machine: 'training' | 'rollback'): string {
  const { pipeline } = result.stacks;
  return `Mlops-${result.config.stage}-Pipeline:ExportsOutputRef${pipeline.getLogicalId(
    pipeline[machine].machine.stateMachine.node.defaultChild as CfnElement,
  )}`;
}

/**
 * The anchors GitHub gives RUNBOOK.md: each heading's slug (lower case, punctuation other than `-` and
 * `_` dropped, spaces as `-`, a repeated slug numbered) and every explicit `<a id>`/`<a name>`.
 */
function runbookAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = heading[1]!
        .replace(/<[^>]*>/g, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** Each kind's evaluation as the alarm policy declares it (RUNBOOK.md and alarm-evaluation.ts say why). */
const declared: Record<
  AlarmKind,
  {
    metric: string;
    namespace?: string;
    statistic: string;
    period: (m: ModelDefinition) => number;
    m: number;
    n: number;
    missing: string;
    comparison: string;
    threshold: (m: ModelDefinition, all: readonly ModelDefinition[]) => number;
  }
> = {
  'prediction-drift': {
    metric: 'PredictionDrift',
    statistic: 'Maximum',
    period: (m) => m.drift.scheduleMinutes * 60,
    m: 1,
    n: 1,
    missing: 'ignore',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: (m) => m.drift.psiAlarm,
  },
  'feature-drift': {
    metric: 'MaxFeatureDrift',
    statistic: 'Maximum',
    period: (m) => m.drift.scheduleMinutes * 60,
    m: 1,
    n: 1,
    missing: 'ignore',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: (m) => m.drift.psiAlarm,
  },
  'null-rate': {
    metric: 'MaxNullRateIncrease',
    statistic: 'Maximum',
    period: (m) => m.drift.scheduleMinutes * 60,
    m: 1,
    n: 1,
    missing: 'ignore',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: (m) => m.drift.nullRateIncreaseAlarm,
  },
  'server-errors': {
    metric: 'ServerErrors',
    statistic: 'Average',
    period: () => 60,
    m: 3,
    n: 5,
    missing: 'notBreaching',
    comparison: 'GreaterThanThreshold',
    threshold: (m) => m.alarms.serverErrorRate,
  },
  latency: {
    metric: 'LatencyMs',
    statistic: 'p99',
    period: () => 60,
    m: 3,
    n: 5,
    missing: 'notBreaching',
    comparison: 'GreaterThanThreshold',
    threshold: (m) => m.alarms.latencyP99Ms,
  },
  'model-errors': {
    metric: 'ModelErrors',
    statistic: 'Sum',
    period: () => 300,
    m: 1,
    n: 1,
    missing: 'notBreaching',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: (m) => m.alarms.modelErrors,
  },
  'invalid-requests': {
    metric: 'InvalidRequests',
    statistic: 'Sum',
    period: () => 300,
    m: 2,
    n: 3,
    missing: 'notBreaching',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: (m) => m.alarms.invalidRequests,
  },
  'no-traffic': {
    metric: 'Predictions',
    statistic: 'Sum',
    period: () => 300,
    m: 3,
    n: 3,
    missing: 'breaching',
    comparison: 'LessThanThreshold',
    threshold: () => 1,
  },
  'feature-schema': {
    metric: 'FeatureSchemaMismatch',
    statistic: 'Sum',
    period: () => 60,
    m: 1,
    n: 1,
    missing: 'notBreaching',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: () => 1,
  },
  'log-write-failures': {
    metric: 'PredictionLogWriteFailures',
    statistic: 'Sum',
    period: () => 60,
    m: 1,
    n: 1,
    missing: 'notBreaching',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: () => 1,
  },
  'training-failure': {
    metric: 'ExecutionsFailed',
    namespace: 'AWS/States',
    statistic: 'Sum',
    period: () => 300,
    m: 1,
    n: 1,
    missing: 'notBreaching',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: () => 1,
  },
  'drift-job-errors': {
    metric: 'Errors',
    namespace: 'AWS/Lambda',
    statistic: 'Sum',
    period: (m) => m.drift.scheduleMinutes * 60,
    m: 2,
    n: 3,
    missing: 'notBreaching',
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: () => 1,
  },
  'api-server-errors': {
    metric: '5XXError',
    namespace: 'AWS/ApiGateway',
    statistic: 'Average',
    period: () => 60,
    m: 3,
    n: 5,
    missing: 'notBreaching',
    comparison: 'GreaterThanThreshold',
    threshold: (_m, all) => Math.min(...all.map((x) => x.alarms.serverErrorRate)),
  },
};

/** Asserts that an alarm is evaluated as its kind declares, for `model` (or the stage, judged by `model`). */
function expectDeclared(
  alarm: Resource,
  kind: AlarmKind,
  model: ModelDefinition,
  all: readonly ModelDefinition[],
): void {
  const d = declared[kind];
  const p = alarm.Properties;
  const name = String(p.AlarmName);
  expect(p.MetricName, name).toBe(d.metric);
  expect(p.Namespace, name).toBe(d.namespace ?? 'Mlops/test');
  expect(p.Statistic ?? p.ExtendedStatistic, name).toBe(d.statistic);
  expect(p.Period, name).toBe(d.period(model));
  expect([p.DatapointsToAlarm, p.EvaluationPeriods], name).toEqual([d.m, d.n]);
  expect(p.TreatMissingData, name).toBe(d.missing);
  expect(p.ComparisonOperator, name).toBe(d.comparison);
  expect(p.Threshold, name).toBe(d.threshold(model, all));
}

describe('MonitoringStack', () => {
  it('GIVEN the credit model WHEN synthesized THEN the drift job runs for it on its schedule, over its window', () => {
    const jobId = synth.stacks.monitoring.getLogicalId(
      synth.stacks.monitoring.drift.job.node.defaultChild as CfnElement,
    );
    const schedules = Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: { Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [jobId, 'Arn'] } })] },
      }),
    ) as Resource[];
    expect(schedules).toHaveLength(synth.config.models.length);
    expect(schedules[0]!.Properties).toMatchObject({
      ScheduleExpression: `rate(${credit().drift.scheduleMinutes} minutes)`,
      Targets: [
        {
          Input: JSON.stringify({ model: 'credit', windowMinutes: credit().drift.windowMinutes }),
          RetryPolicy: { MaximumRetryAttempts: 2 },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 300,
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'drift-job',
          REGISTRY_TABLE: Match.anyValue(),
          LAKE_BUCKET: Match.anyValue(),
          PREDICTION_LOG_TABLE: Match.anyValue(),
        }),
      },
    });
  });

  it('GIVEN the drift job WHEN synthesized THEN it may write reports/ but neither read nor delete there', () => {
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]).flatMap(
      (p) =>
        (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    );
    const onReports = statements.filter((s) => JSON.stringify(s.Resource).includes(`/${lakeZones.reports}*`));
    expect(onReports.length).toBeGreaterThan(0);
    const actions = onReports.flatMap((s) => [s.Action].flat());
    expect(actions).toContain('s3:PutObject');
    expect(actions.filter((a) => /^s3:(Get|Delete)/.test(a))).toEqual([]);
  });

  it('GIVEN the drift job WHEN synthesized THEN its description promises feature and score drift', () => {
    const description = String(functionNamed(template, 'drift-job').Properties.Description);
    expect(description).toMatch(/feature/);
    expect(description).toMatch(/scores/);
    expect(description).toMatch(/baseline/);
  });

  it('GIVEN contracts/alarms.ts WHEN synthesized THEN there is one alarm per model kind and model, and one per stage kind, named by the contract', () => {
    const names = alarms(template)
      .map((a) => String(a.Properties.AlarmName))
      .sort();
    const expected = (Object.keys(alarmKinds) as AlarmKind[])
      .flatMap((kind) =>
        alarmKinds[kind].perModel
          ? synth.config.models
              .filter((m) => kind !== 'no-traffic' || m.alarms.expectTraffic)
              .map((m) => alarmName('test', kind, m.name))
          : [alarmName('test', kind)],
      )
      .sort();
    expect(names).toEqual(expected);
    for (const name of names) expect(parseAlarmName(name, 'test'), name).toBeDefined();
  });

  it("GIVEN each kind's declared evaluation WHEN synthesized THEN every alarm has its metric, statistic, period, M of N, missing-data treatment and threshold", () => {
    const { models } = synth.config;
    for (const alarm of alarms(template)) {
      const parsed = parseAlarmName(String(alarm.Properties.AlarmName), 'test')!;
      const model = parsed.model ? models.find((m) => m.name === parsed.model)! : models[0]!;
      expectDeclared(alarm, parsed.kind, model, models);
      if (parsed.model) {
        expect(alarm.Properties.Dimensions).toEqual([{ Name: MODEL_DIMENSION, Value: parsed.model }]);
      }
    }
  });

  it('GIVEN RUNBOOK.md WHEN every alarm is synthesized THEN its description states severity, meaning and action, and links to a section that exists', () => {
    const anchors = runbookAnchors(readFileSync(join(PROJECT_ROOT, 'RUNBOOK.md'), 'utf8'));
    for (const kind of Object.keys(alarmKinds)) expect(anchors.has(kind), `RUNBOOK.md#${kind}`).toBe(true);
    for (const alarm of alarms(template)) {
      const { kind } = parseAlarmName(String(alarm.Properties.AlarmName), 'test')!;
      const description = String(alarm.Properties.AlarmDescription);
      expect(description.length).toBeLessThanOrEqual(1024);
      expect(description.startsWith(`[${alarmKinds[kind].severity}] `), description).toBe(true);
      const link = /Runbook: (\S+)$/.exec(description)?.[1];
      expect(link, description).toBe(`RUNBOOK.md#${kind}`);
      expect(anchors.has(link!.split('#')[1]!), link).toBe(true);
      const action = alarmKinds[kind].action;
      const does = {
        rollback: /starts the rollback state machine/,
        retrain: /starts the training state machine/,
        notify: /operators are notified; nothing else/,
      }[action];
      expect(description, kind).toMatch(does);
    }
  });

  it('GIVEN every alarm WHEN synthesized THEN it notifies the operator topic on ALARM and on OK', () => {
    const topic = { 'Fn::ImportValue': Match.stringLikeRegexp('^Mlops-test-Data:.*AlertsTopic') };
    for (const alarm of alarms(template)) {
      expect(alarm.Properties.AlarmActions).toEqual([expect.anything()]);
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [topic] });
  });

  it("GIVEN the rollback kinds WHEN one of the model's alarms enters ALARM THEN a rule starts the rollback state machine with the alarm and CloudWatch's reason", () => {
    const arns = (['prediction-drift', 'server-errors', 'latency', 'model-errors'] as const).map((kind) => ({
      'Fn::GetAtt': [
        logicalIdOf(template, 'AWS::CloudWatch::Alarm', { AlarmName: alarmName('test', kind, 'credit') }),
        'Arn',
      ],
    }));
    const rule = template.findResources('AWS::Events::Rule', {
      Properties: {
        EventPattern: {
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
          resources: arns,
          detail: { state: { value: ['ALARM'] } },
        },
      },
    });
    const targets = (Object.values(rule) as Resource[]).map(
      (r) => r.Properties.Targets as Resource['Properties'][],
    );
    expect(targets).toHaveLength(1);
    const target = targets[0]![0]!;
    expect(JSON.stringify(target.Arn)).toContain(machineExport(synth, 'rollback'));
    expect(target.RoleArn).toBeDefined();
    expect(target.InputTransformer).toEqual({
      InputPathsMap: {
        'detail-alarmName': '$.detail.alarmName',
        'detail-state-reason': '$.detail.state.reason',
      },
      InputTemplate:
        '{"model":"credit","trigger":"alarm","alarm":<detail-alarmName>,"reason":<detail-state-reason>}',
    });
  });

  it("GIVEN the retrain kinds and retraining.onDrift WHEN one of the model's alarms enters ALARM THEN a rule starts the training state machine", () => {
    expect(credit().retraining.onDrift).toBe(true);
    const arns = (['feature-drift', 'null-rate'] as const).map((kind) => ({
      'Fn::GetAtt': [
        logicalIdOf(template, 'AWS::CloudWatch::Alarm', { AlarmName: alarmName('test', kind, 'credit') }),
        'Arn',
      ],
    }));
    const rules = Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: { EventPattern: Match.objectLike({ resources: arns }) },
      }),
    ) as Resource[];
    expect(rules).toHaveLength(1);
    const target = (rules[0]!.Properties.Targets as Record<string, unknown>[])[0]!;
    expect(JSON.stringify(target.Arn)).toContain(machineExport(synth, 'training'));
    expect((target.InputTransformer as { InputTemplate: string }).InputTemplate).toBe(
      '{"model":"credit","trigger":"alarm","alarm":<detail-alarmName>,"reason":<detail-state-reason>}',
    );
  });

  it('GIVEN no retraining.schedule WHEN synthesized THEN nothing starts training on a schedule', () => {
    expect(credit().retraining.schedule).toBeUndefined();
    const scheduled = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
    const training = scheduled.filter(
      (r) =>
        r.Properties.ScheduleExpression !== undefined &&
        JSON.stringify(r.Properties.Targets).includes(machineExport(synth, 'training')),
    );
    expect(training).toEqual([]);
  });

  it('GIVEN the dashboard WHEN synthesized THEN each model has a drift section and an alarm status widget with its alarms', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain('## Model credit');
    for (const title of [
      'prediction drift',
      'max feature PSI',
      'nulls and unseen categories',
      'drift samples',
    ]) {
      expect(body).toContain(`credit: ${title}`);
    }
    expect(body).toContain('credit: alarms');
    // The status widgets list every alarm (by its ARN).
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    for (const id of alarmIds) expect(body, id).toContain(`"${id}","Arn"`);
    // CloudWatch orders a metric's dimensions by name.
    for (const feature of credit().spec.features) {
      const line = `\\"FeatureDrift\\",\\"${FEATURE_DIMENSION}\\",\\"${feature.name}\\",\\"${MODEL_DIMENSION}\\",\\"credit\\"`;
      expect(body.includes(line), feature.name).toBe(true);
    }
    expect(dashboard.Properties.DashboardName).toBeUndefined();
  });

  it('GIVEN contracts/metrics.ts WHEN synthesized THEN every platform alarm and graph uses its namespace, names, units and dimensions', () => {
    const entries = Object.values(platformMetrics);
    const platformAlarms = alarms(template).filter((a) => a.Properties.Namespace === metricNamespace('test'));
    expect(platformAlarms.length).toBeGreaterThan(0);
    for (const alarm of platformAlarms) {
      const entry = entries.find((m) => m.name === alarm.Properties.MetricName);
      expect(entry, String(alarm.Properties.MetricName)).toBeDefined();
      expect(alarm.Properties.Unit).toBe(entry!.unit);
    }
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody,
    );
    for (const { name } of entries) {
      const dimensions =
        name === platformMetrics.featureDrift.name
          ? `\\"${FEATURE_DIMENSION}\\",\\"Income\\",\\"${MODEL_DIMENSION}\\",\\"credit\\"`
          : `\\"${MODEL_DIMENSION}\\",\\"credit\\"`;
      expect(body.includes(`\\"${metricNamespace('test')}\\",\\"${name}\\",${dimensions}`), name).toBe(true);
    }
  });

  it('GIVEN the metric factories WHEN asked for a metric THEN they take name, unit and dimensions from the contract', () => {
    const { monitoring } = synth.stacks.monitoring;
    expect(monitoring.metric('credit', 'latency')).toMatchObject({
      namespace: 'Mlops/test',
      metricName: platformMetrics.latency.name,
      unit: platformMetrics.latency.unit,
      statistic: 'Average',
      dimensions: { [MODEL_DIMENSION]: 'credit' },
    });
    expect(monitoring.metric('credit', 'predictions').statistic).toBe('Sum');
    expect(monitoring.metricFeatureDrift('credit', 'Income')).toMatchObject({
      metricName: platformMetrics.featureDrift.name,
      statistic: 'Maximum',
      dimensions: { [MODEL_DIMENSION]: 'credit', [FEATURE_DIMENSION]: 'Income' },
    });
    expect(() => monitoring.metric('credit', 'featureDrift' as 'latency')).toThrow(/metricFeatureDrift/);
  });

  it('GIVEN the construct WHEN read THEN its alarms are typed by kind', () => {
    const { monitoring } = synth.stacks.monitoring;
    expect(Object.keys(monitoring.modelAlarms.credit!).sort()).toEqual(
      (Object.keys(alarmKinds) as AlarmKind[])
        .filter((k) => alarmKinds[k].perModel && k !== 'no-traffic')
        .sort(),
    );
    expect(Object.keys(monitoring.stageAlarms).sort()).toEqual([
      'api-server-errors',
      'drift-job-errors',
      'training-failure',
    ]);
    expect(monitoring.alarms).toHaveLength(alarms(template).length);
    expect(monitoring.rules.credit!.retrain).toBeDefined();
    expect(monitoring.rules.credit!.schedule).toBeUndefined();
  });

  it('GIVEN the stack WHEN synthesized THEN it outputs DashboardName, DriftJobFunctionName and OperatorTopicArn', () => {
    template.hasOutput('DashboardName', { Value: { Ref: Match.anyValue() } });
    template.hasOutput('DriftJobFunctionName', {
      Value: {
        Ref: synth.stacks.monitoring.getLogicalId(
          synth.stacks.monitoring.drift.job.node.defaultChild as CfnElement,
        ),
      },
    });
    template.hasOutput('OperatorTopicArn', { Value: { 'Fn::ImportValue': Match.anyValue() } });
  });

  it('fails when PlatformMonitoring gets no models, naming the prop', () => {
    const { serving, pipeline, data, monitoring } = synth.stacks;
    const stack = new Stack(new App(), 'Mon');
    expect(
      () =>
        new PlatformMonitoring(stack, 'Mon', {
          stage: 'test',
          models: [],
          alarmTopic: data.alerts.topic,
          rollbackStateMachine: pipeline.rollback.machine.stateMachine,
          trainingStateMachine: pipeline.training.machine.stateMachine,
          predictFunction: serving.prediction.handler,
          api: serving.prediction.api,
          driftJob: monitoring.drift.job,
        }),
    ).toThrow(/PlatformMonitoring models/);
  });

  it('fails when DriftMonitor gets no models, naming the prop', () => {
    const { data } = synth.stacks;
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Drift');
    expect(
      () =>
        new DriftMonitor(stack, 'Drift', {
          functions: { stage: 'test', models: [], logEncryptionKey: data.key },
          lake: data.lake,
          registry: data.registry,
          predictionLog: data.predictionLog,
        }),
    ).toThrow(/DriftMonitor functions.models/);
  });
});

describe('MonitoringStack with fast settings', () => {
  let fast: SynthResult;
  let fastTemplate: Template;
  beforeAll(() => {
    fast = synthPlatform({ config: { fast: true } });
    fastTemplate = Template.fromStack(fast.stacks.monitoring);
  });

  it('GIVEN fast WHEN synthesized THEN every alarm evaluates 60 s periods, 1 datapoint of 1, drift alarms too', () => {
    const all = alarms(fastTemplate);
    expect(all.length).toBe(alarms(template).length);
    for (const alarm of all) {
      expect(
        [alarm.Properties.Period, alarm.Properties.DatapointsToAlarm, alarm.Properties.EvaluationPeriods],
        String(alarm.Properties.AlarmName),
      ).toEqual([60, 1, 1]);
    }
    // What each period without data means does not change with the period.
    for (const alarm of all) {
      const { kind } = parseAlarmName(String(alarm.Properties.AlarmName), 'test')!;
      expect(alarm.Properties.TreatMissingData).toBe(declared[kind].missing);
    }
  });

  it('GIVEN fast WHEN synthesized THEN the drift job runs every minute over the last 10 minutes', () => {
    fastTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ model: 'credit', windowMinutes: 10 }) })],
    });
  });
});

/** Synthesizes the platform (with cdk-nag) for models other than the repository's. */
function synthModels(models: ModelDefinition[]): {
  config: PlatformConfig;
  result: SynthResult;
  t: Template;
} {
  const config = buildConfig({ stage: 'test' }, models);
  const context = readCdkJsonContext();
  delete context.mlops;
  context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ context });
  const stacks = buildApp(app, config);
  addComplianceChecks(app);
  const assembly = app.synth();
  const result = { app, config, stacks, assembly };
  return { config, result, t: Template.fromStack(stacks.monitoring) };
}

function modelFile(name: string, changes: Record<string, unknown>): ModelDefinition {
  const raw = JSON.parse(readFileSync(join(MODELS_DIR, 'credit.json'), 'utf8')) as Record<string, unknown>;
  return parseModelDefinition({ ...raw, name, ...changes }, `test ${name}`);
}

describe('MonitoringStack with models of their own policies', () => {
  let custom: ReturnType<typeof synthModels>;
  beforeAll(() => {
    custom = synthModels([
      modelFile('credit', {
        alarms: { expectTraffic: true, serverErrorRate: 0.02, latencyP99Ms: 250 },
        retraining: { schedule: 'rate(7 days)' },
      }),
      modelFile('churn-risk', {
        drift: { scheduleMinutes: 30, windowMinutes: 120, psiAlarm: 0.3 },
        retraining: { onDrift: false },
      }),
    ]);
  });

  it('GIVEN two models WHEN synthesized THEN cdk-nag finds nothing and each alarm follows its own model', () => {
    expect(validationViolations(custom.result.assembly)).toEqual([]);
    const report = new AwsSolutionsChecks(custom.result.app).validateScope(custom.result.app);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    const { models } = custom.config;
    for (const alarm of alarms(custom.t)) {
      const parsed = parseAlarmName(String(alarm.Properties.AlarmName), 'test')!;
      // The stage alarms are judged by the model with the shortest drift schedule.
      const model = models.find((m) => m.name === (parsed.model ?? 'credit'))!;
      expectDeclared(alarm, parsed.kind, model, models);
    }
    expect(Number(alarmOf(custom.t, alarmName('test', 'api-server-errors')).Properties.Threshold)).toBe(0.02);
    expect(alarmOf(custom.t, alarmName('test', 'prediction-drift', 'churn-risk')).Properties).toMatchObject({
      Period: 1800,
      Threshold: 0.3,
    });
  });

  it('GIVEN expectTraffic WHEN synthesized THEN a missing period counts toward the no-traffic alarm', () => {
    expect(alarmOf(custom.t, alarmName('test', 'no-traffic', 'credit')).Properties).toMatchObject({
      MetricName: 'Predictions',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect(alarms(custom.t).map((a) => a.Properties.AlarmName)).not.toContain(
      alarmName('test', 'no-traffic', 'churn-risk'),
    );
  });

  it('GIVEN retraining.schedule WHEN synthesized THEN a rule starts training for the model on it, saying why', () => {
    const rules = Object.values(
      custom.t.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: 'rate(7 days)' } }),
    ) as Resource[];
    expect(rules).toHaveLength(1);
    const target = (rules[0]!.Properties.Targets as Record<string, unknown>[])[0]!;
    expect(JSON.stringify(target.Arn)).toContain(machineExport(custom.result, 'training'));
    expect(JSON.parse(String(target.Input))).toEqual({
      model: 'credit',
      trigger: 'schedule',
      reason: 'schedule rate(7 days)',
    });
  });

  it('GIVEN retraining.onDrift false WHEN its input drifts THEN only operators are told', () => {
    const { monitoring } = custom.result.stacks.monitoring;
    expect(monitoring.rules['churn-risk']!.retrain).toBeUndefined();
    expect(monitoring.rules['churn-risk']!.schedule).toBeUndefined();
    const description = String(
      alarmOf(custom.t, alarmName('test', 'feature-drift', 'churn-risk')).Properties.AlarmDescription,
    );
    expect(description).toMatch(/retraining on drift is off for churn-risk/);
    expect(description).not.toMatch(/starts the training state machine/);
    const training = machineExport(custom.result, 'training');
    const alarmRules = (Object.values(custom.t.findResources('AWS::Events::Rule')) as Resource[]).filter(
      (r) =>
        r.Properties.EventPattern !== undefined && JSON.stringify(r.Properties.Targets).includes(training),
    );
    // Only credit's retrain rule.
    expect(alarmRules).toHaveLength(1);
    expect(JSON.stringify(alarmRules[0]!.Properties.Targets)).toContain('"model\\":\\"credit\\"');
  });

  it('GIVEN two drift schedules WHEN synthesized THEN each model has its own drift job rule and input', () => {
    for (const [model, rate, window] of [
      ['credit', 'rate(15 minutes)', 60],
      ['churn-risk', 'rate(30 minutes)', 120],
    ] as const) {
      custom.t.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: rate,
        Targets: [Match.objectLike({ Input: JSON.stringify({ model, windowMinutes: window }) })],
      });
    }
  });

  it('fails when a retraining schedule is one EventBridge refuses, naming the model and the key', () => {
    expect(() => synthModels([modelFile('credit', { retraining: { schedule: 'rate(1 days)' } })])).toThrow(
      /Model credit retraining\.schedule: "rate\(1 days\)".*rate\(1 day\)/,
    );
  });
});
