/**
 * The middy chain of the Step Functions task functions: the Lambda context on every log line, then
 * the task. A task's typed error (a stable `name` the state machine's Retry/Catch match) passes
 * through unchanged.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type Logger, lambdaContext } from './observability.ts';

/** Wraps a task function for Lambda. */
export function taskHandler<I, O>(logger: Logger, task: (input: I) => Promise<O>) {
  return middy<I, O, Error, Context>()
    .use(lambdaContext<I, O>(logger))
    .handler(async (input: I) => task(input));
}
