/**
 * Where the predict and shadow functions get their scores from: the in-process scorer (serving mode
 * `lambda`) or the model's SageMaker endpoint (`endpoint`). The mode is a build constant
 * (`__MLOPS_SERVING_MODE__`, set by the construct) compared where it is written, so esbuild folds the
 * condition and a `lambda`-mode bundle leaves the endpoint runtime and the SageMaker runtime client
 * out; code run from source (the tests) has no constant and takes the mode from the environment.
 */
import type { ModelRuntime } from '../../core/ports.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { EndpointRuntime } from './adapters/aws/sagemaker-runtime.ts';
import { makeSageMakerRuntimeClient } from './adapters/aws/sagemaker-runtime-client.ts';

declare const __MLOPS_SERVING_MODE__: 'lambda' | 'endpoint' | undefined;

/** The runtime of a function's serving mode; `endpoint` needs the stage's endpoint prefix. */
export function servingRuntime(
  functionName: string,
  env: { SERVING_MODE: 'lambda' | 'endpoint'; ENDPOINT_PREFIX?: string | undefined },
): ModelRuntime {
  // One expression, so that the folded condition leaves the other branch unreachable to esbuild.
  return (typeof __MLOPS_SERVING_MODE__ === 'string' ? __MLOPS_SERVING_MODE__ : env.SERVING_MODE) ===
    'endpoint'
    ? endpointRuntime(functionName, env.ENDPOINT_PREFIX)
    : inProcessRuntime;
}

function endpointRuntime(functionName: string, prefix: string | undefined): ModelRuntime {
  if (!prefix) {
    throw new Error(
      `Function ${functionName}: ENDPOINT_PREFIX is not set, and serving mode endpoint needs it. The function's construct sets it (contracts/env.ts).`,
    );
  }
  return new EndpointRuntime(makeSageMakerRuntimeClient(), prefix);
}
