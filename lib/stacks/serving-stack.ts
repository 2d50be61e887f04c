import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { PlatformConfig } from '../config.ts';
import { endpointPrefix } from '../constructs/model-endpoints.ts';
import { PredictionApi } from '../constructs/prediction-api.ts';
import type { DataStack } from './data-stack.ts';

/** Properties of the {@link ServingStack}. */
export interface ServingStackProps extends StackProps {
  /** The validated platform config. */
  readonly config: PlatformConfig;
  /** The stateful stack. */
  readonly data: DataStack;
}

/** The prediction API and its function. */
export class ServingStack extends Stack {
  /** The prediction API. */
  public readonly prediction: PredictionApi;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    this.prediction = new PredictionApi(this, 'Prediction', {
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
      idempotency: data.idempotency,
      defaultModel: config.defaultModel,
      predictionLogTtlDays: config.predictionLogTtlDays,
      clients: config.clients,
      accessLogEncryptionKey: data.key,
      ...(config.serving.mode === 'endpoint' ? { endpointPrefix: endpointPrefix(config.stage) } : {}),
    });

    new CfnOutput(this, stackOutputs.apiUrl, {
      value: this.prediction.url,
      description: 'Base URL of the prediction API',
    });
    new CfnOutput(this, stackOutputs.apiKeyIds, {
      value: this.prediction.keyIds,
      description:
        "Each client's API key id, as <client>=<keyId>,... (print the keys with: npx mlops keys --stage <stage>)",
    });
  }
}
