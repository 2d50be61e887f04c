import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIMENSION, metricNamespace, platformMetrics } from '../../contracts/metrics.ts';
import { DriftMonitor } from '../../lib/constructs/drift-monitor.ts';
import { PlatformMonitoring } from '../../lib/constructs/platform-monitoring.ts';
import { functionNamed, type SynthResult, synthPlatform } from './fixture.ts';

let synth: SynthResult;
let template: Template;

beforeAll(() => {
  synth = synthPlatform({ bundle: ['Monitoring'], config: { driftScheduleMinutes: 30 } });
  template = Template.fromStack(synth.stacks.monitoring);
});

function resourceId(type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

describe('MonitoringStack', () => {
  it('GIVEN driftScheduleMinutes 30 WHEN synthesized THEN the drift job runs every 30 minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(30 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DriftJob'), 'Arn'] } })],
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

  it('GIVEN the drift job WHEN synthesized THEN its description promises the prediction drift it computes, not input drift', () => {
    const description = String(functionNamed(template, 'drift-job').Properties.Description);
    expect(description).toMatch(/PSI of .*served scores against .*validation scores/);
    expect(description).not.toMatch(/input/i);
  });

  it('GIVEN the credit model WHEN synthesized THEN its PredictionDrift alarm uses its psiAlarm and notifies operators', () => {
    const psi = synth.config.models.find((m) => m.name === 'credit')!.drift.psiAlarm;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Mlops/test',
      MetricName: 'PredictionDrift',
      Dimensions: [{ Name: 'Model', Value: 'credit' }],
      Statistic: 'Maximum',
      Threshold: psi,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      Period: 1800,
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('^Mlops-test-Data:.*AlertsTopic') }],
    });
  });

  it('GIVEN the drift alarm WHEN it enters ALARM THEN an EventBridge rule starts the rollback state machine for the model', () => {
    const alarmId = resourceId('AWS::CloudWatch::Alarm', { MetricName: 'PredictionDrift' });
    const rollbackSm = synth.stacks.pipeline.getLogicalId(
      synth.stacks.pipeline.rollback.machine.stateMachine.node.defaultChild as CfnElement,
    );
    const rules = Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: {
          EventPattern: {
            source: ['aws.cloudwatch'],
            'detail-type': ['CloudWatch Alarm State Change'],
            resources: [{ 'Fn::GetAtt': [alarmId, 'Arn'] }],
            detail: { state: { value: ['ALARM'] } },
          },
        },
      }),
    );
    expect(rules).toHaveLength(1);
    const target = (rules[0]!.Properties.Targets as Record<string, unknown>[])[0]!;
    expect(JSON.stringify(target.Arn)).toContain(`Mlops-test-Pipeline:ExportsOutputRef${rollbackSm}`);
    expect(target.RoleArn).toBeDefined();
    expect(target.Input).toEqual({
      'Fn::Join': ['', ['{"model":"credit","reason":"', { Ref: alarmId }, ' in ALARM"}']],
    });
  });

  it('GIVEN the credit model WHEN requests are refused for a feature-schema mismatch THEN a critical alarm notifies operators', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Mlops/test',
      MetricName: 'FeatureSchemaMismatch',
      Dimensions: [{ Name: 'Model', Value: 'credit' }],
      Statistic: 'Sum',
      Threshold: 1,
      AlarmDescription: Match.stringLikeRegexp('^\\[critical\\] Model credit is refused'),
      AlarmActions: [Match.anyValue()],
    });
  });

  it('GIVEN the platform WHEN synthesized THEN predict errors, API 5xx and drift job failures are alarmed', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { 'Fn::ImportValue': Match.stringLikeRegexp('Mlops-test-Serving') } },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Dimensions: Match.arrayWith([{ Name: 'ApiName', Value: 'Mlops-test-Serving-predictions' }]),
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(alarm.Properties.AlarmDescription).toMatch(/^\[(critical|warning)\] /);
    }
  });

  it('GIVEN the dashboard WHEN synthesized THEN it has a section per model with predictions, latency, errors and drift', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain('## Model credit');
    for (const metric of ['Predictions', 'LatencyMs', 'InvalidRequests', 'PredictionDrift']) {
      expect(body).toContain(`\\"Mlops/test\\",\\"${metric}\\",\\"Model\\",\\"credit\\"`);
    }
    expect(dashboard.Properties.DashboardName).toBeUndefined();
  });

  it('GIVEN contracts/metrics.ts WHEN synthesized THEN every platform alarm and graph uses its namespace, names, units and dimension', () => {
    const entries = Object.values(platformMetrics);
    const platformAlarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Namespace: metricNamespace('test') },
      }),
    );
    expect(platformAlarms).toHaveLength(2);
    for (const alarm of platformAlarms) {
      const entry = entries.find((m) => m.name === alarm.Properties.MetricName);
      expect(entry, alarm.Properties.MetricName).toBeDefined();
      expect(alarm.Properties.Unit).toBe(entry!.unit);
      expect(alarm.Properties.Dimensions).toEqual([{ Name: MODEL_DIMENSION, Value: 'credit' }]);
    }
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody,
    );
    for (const { name } of entries) {
      expect(body).toContain(
        `\\"${metricNamespace('test')}\\",\\"${name}\\",\\"${MODEL_DIMENSION}\\",\\"credit\\"`,
      );
    }
  });

  it('GIVEN the metric factory WHEN asked for a metric THEN it takes name and unit from the contract, with a statistic fitting the unit', () => {
    const { monitoring } = synth.stacks.monitoring;
    const latency = monitoring.metric('credit', 'latency');
    expect(latency).toMatchObject({
      namespace: 'Mlops/test',
      metricName: platformMetrics.latency.name,
      unit: platformMetrics.latency.unit,
      statistic: 'Average',
      dimensions: { [MODEL_DIMENSION]: 'credit' },
    });
    expect(monitoring.metric('credit', 'predictions').statistic).toBe('Sum');
    expect(monitoring.metric('credit', 'predictionDrift', { statistic: 'Maximum' }).statistic).toBe(
      'Maximum',
    );
  });

  it('GIVEN the stack WHEN synthesized THEN it outputs DashboardName and OperatorTopicArn', () => {
    template.hasOutput('DashboardName', { Value: { Ref: Match.anyValue() } });
    template.hasOutput('OperatorTopicArn', { Value: { 'Fn::ImportValue': Match.anyValue() } });
  });

  it('fails when DriftMonitor scheduleMinutes is out of range, naming the prop', () => {
    const { data } = synth.stacks;
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Drift');
    expect(
      () =>
        new DriftMonitor(stack, 'Drift', {
          functions: { stage: 'test', models: synth.config.models, logEncryptionKey: data.key },
          lake: data.lake,
          registry: data.registry,
          predictionLog: data.predictionLog,
          scheduleMinutes: 0,
        }),
    ).toThrow(/DriftMonitor scheduleMinutes/);
  });

  it('fails when PlatformMonitoring gets no models, naming the prop', () => {
    const { serving, pipeline, data } = synth.stacks;
    const stack = new Stack(new App(), 'Mon');
    expect(
      () =>
        new PlatformMonitoring(stack, 'Mon', {
          stage: 'test',
          models: [],
          alarmTopic: data.alerts.topic,
          rollbackStateMachine: pipeline.rollback.machine.stateMachine,
          predictFunction: serving.prediction.handler,
          api: serving.prediction.api,
          driftInterval: Duration.minutes(30),
        }),
    ).toThrow(/PlatformMonitoring models/);
  });
});
