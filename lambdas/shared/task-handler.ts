/** The middy chain shared by the Step Functions task functions: logger context, EMF metrics flush. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { logger, metrics } from './observability.ts';

export function taskHandler<I, O>(fn: (input: I) => Promise<O>) {
  return middy<I, O>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(async (input: I) => fn(input));
}
