import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type ClientTarget, clientConfig } from './client-config.ts';

export function makeSageMakerRuntimeClient(target?: ClientTarget): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient(clientConfig('sagemakerRuntime', target));
}
