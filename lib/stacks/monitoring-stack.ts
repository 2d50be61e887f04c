/**
 * The monitoring stack: composes the drift job (with its per-model schedules) and the monitoring
 * construct (alarms, rules, dashboard), and outputs what the CLI reads (dashboard, drift job, topic).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { PlatformConfig } from '../config.ts';
import { DriftMonitor } from '../constructs/drift-monitor.ts';
import { PlatformMonitoring } from '../constructs/platform-monitoring.ts';
import type { DataStack } from './data-stack.ts';
import type { PipelineStack } from './pipeline-stack.ts';
import type { ServingStack } from './serving-stack.ts';

/** Properties of the {@link MonitoringStack}. */
export interface MonitoringStackProps extends StackProps {
  /** The validated platform config. */
  readonly config: PlatformConfig;
  /** The stateful stack (data and the operator topic). */
  readonly data: DataStack;
  /** The pipelines (the rollback and training state machines the alarm rules start). */
  readonly pipeline: PipelineStack;
  /** The serving stack (the API and predict function). */
  readonly serving: ServingStack;
}

/**
 * The drift job on each model's schedule, all alarms, the rules that roll back and retrain on them,
 * the retraining schedules and the dashboard.
 */
export class MonitoringStack extends Stack {
  /** The drift job and its schedules. */
  public readonly drift: DriftMonitor;
  /** Alarms, their rules, the retraining schedules and the dashboard. */
  public readonly monitoring: PlatformMonitoring;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, data, pipeline, serving } = props;
    this.drift = new DriftMonitor(this, 'Drift', {
      functions: {
        stage: config.stage,
        models: config.models,
        logEncryptionKey: data.key,
        removalPolicy: data.removalPolicy,
        sourceMaps: config.sourceMaps,
      },
      lake: data.lake,
      registry: data.registry,
      predictionLog: data.predictionLog,
    });
    this.monitoring = new PlatformMonitoring(this, 'Monitoring', {
      stage: config.stage,
      models: config.models,
      alarmTopic: data.alerts.topic,
      rollbackStateMachine: pipeline.rollback.machine.stateMachine,
      trainingStateMachine: pipeline.training.machine.stateMachine,
      predictFunction: serving.prediction.handler,
      api: serving.prediction.api,
      driftJob: this.drift.job,
      runbookUrl: config.runbookUrl,
      fast: config.fast,
    });

    new CfnOutput(this, stackOutputs.dashboardName, {
      value: this.monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of the platform',
    });
    new CfnOutput(this, stackOutputs.driftJobFunctionName, {
      value: this.drift.job.functionName,
      description: 'Drift job function (`mlops drift` invokes it)',
    });
    new CfnOutput(this, stackOutputs.operatorTopicArn, {
      value: data.alerts.topic.topicArn,
      description: 'SNS topic of operator alerts (owned by the data stack)',
    });
  }
}
