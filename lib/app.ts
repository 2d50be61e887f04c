/**
 * Builds the platform's four stacks into an app. `bin/app.ts` calls it for `cdk synth`/`deploy`; tests and
 * the local twin call it to synthesize in-process.
 */
import { type App, Tags, Validations } from 'aws-cdk-lib';
import { stackName } from '../contracts/outputs.ts';
import type { PlatformConfig } from './config.ts';
import { DataStack } from './stacks/data-stack.ts';
import { MonitoringStack } from './stacks/monitoring-stack.ts';
import { PipelineStack } from './stacks/pipeline-stack.ts';
import { ServingStack } from './stacks/serving-stack.ts';

export { addComplianceChecks } from './nag.ts';

/** The platform's stacks. */
export interface PlatformStacks {
  /** `Mlops-<stage>-Data`: key, lake, registry, prediction log, operator topic. */
  readonly data: DataStack;
  /** `Mlops-<stage>-Pipeline`: training, promotion and rollback state machines. */
  readonly pipeline: PipelineStack;
  /** `Mlops-<stage>-Serving`: the prediction API. */
  readonly serving: ServingStack;
  /** `Mlops-<stage>-Monitoring`: drift job, alarms, rollback rules, dashboard. */
  readonly monitoring: MonitoringStack;
}

/** Adds the platform's stacks to `app`. The stacks are environment-agnostic. */
export function buildApp(app: App, config: PlatformConfig): PlatformStacks {
  const { stage } = config;

  const data = new DataStack(app, stackName(stage, 'Data'), {
    stackName: stackName(stage, 'Data'),
    description: `ML platform (${stage}): data lake, model registry, prediction log, keys, operator topic`,
    config,
  });
  const pipeline = new PipelineStack(app, stackName(stage, 'Pipeline'), {
    stackName: stackName(stage, 'Pipeline'),
    description: `ML platform (${stage}): training, promotion and rollback pipelines`,
    config,
    data,
  });
  const serving = new ServingStack(app, stackName(stage, 'Serving'), {
    stackName: stackName(stage, 'Serving'),
    description: `ML platform (${stage}): prediction API`,
    config,
    data,
  });
  const monitoring = new MonitoringStack(app, stackName(stage, 'Monitoring'), {
    stackName: stackName(stage, 'Monitoring'),
    description: `ML platform (${stage}): drift job, alarms, automatic rollback, dashboard`,
    config,
    data,
    pipeline,
    serving,
  });
  for (const stack of [data, pipeline, serving, monitoring]) {
    Tags.of(stack).add('mlops:stage', stage);
    Validations.of(stack).acknowledge({
      id: 'Annotation::@aws-cdk/core:crossStackReferencesDefaultStrong',
      reason:
        'Strong references (CloudFormation exports) are intended: they stop the data stack from being changed ' +
        'or deleted under the stacks that use it.',
    });
  }
  return { data, pipeline, serving, monitoring };
}
