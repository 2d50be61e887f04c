import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type ClientTarget, clientConfig } from './client-config.ts';

export function makeSageMakerClient(target?: ClientTarget): SageMakerClient {
  return new SageMakerClient(clientConfig('sagemaker', target));
}
