import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type ClientTarget, clientConfig } from './client-config.ts';

/**
 * The SageMaker runtime client. It makes one attempt per call (`maxAttempts: 1`): the endpoint
 * runtime (`sagemaker-runtime.ts`) bounds, retries and counts the attempts itself, per variant.
 */
export function makeSageMakerRuntimeClient(target?: ClientTarget): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ ...clientConfig('sagemakerRuntime', target), maxAttempts: 1 });
}
