/** The middy chain shared by the Step Functions task functions: Powertools logger with the Lambda context. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from './observability.ts';

export function taskHandler<I, O>(fn: (input: I) => Promise<O>) {
  return middy<I, O>()
    .use(injectLambdaContext(logger))
    .handler(async (input: I) => fn(input));
}
