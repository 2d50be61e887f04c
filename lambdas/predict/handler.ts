import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { systemClock } from '../../core/ports.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { EndpointRuntime } from '../shared/adapters/aws/sagemaker-runtime.ts';
import { lakeStore, predictionLog, registry, sagemakerRuntime } from '../shared/deps.ts';
import { requireEnv } from '../shared/env.ts';
import { getModel } from '../shared/models.ts';
import { logger, modelMetric } from '../shared/observability.ts';
import { endpointPrefix, servingMode } from '../shared/serving-settings.ts';
import { handlePredict, type MetricName } from './core.ts';

const units: Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Predictions: MetricUnit.Count,
  LatencyMs: MetricUnit.Milliseconds,
  InvalidRequests: MetricUnit.Count,
  NoProductionModel: MetricUnit.Count,
  FeatureSchemaMismatch: MetricUnit.Count,
  UpstreamErrors: MetricUnit.Count,
  ModelErrors: MetricUnit.Count,
};

const runtime =
  servingMode() === 'endpoint' ? new EndpointRuntime(sagemakerRuntime(), endpointPrefix()) : inProcessRuntime;

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .handler((event, context) =>
    handlePredict(
      {
        method: event.httpMethod,
        path: event.path,
        modelParam: event.pathParameters?.model,
        headers: event.headers ?? {},
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        requestId: event.requestContext?.requestId ?? context.awsRequestId,
      },
      {
        registry: registry(),
        lake: lakeStore(),
        log: predictionLog(),
        clock: systemClock,
        models: (name) => {
          try {
            return getModel(name);
          } catch {
            return undefined;
          }
        },
        defaultModel: requireEnv('DEFAULT_MODEL'),
        metric: (model, name, value) => modelMetric(model, name, units[name], value),
        onError: (err, ctx) => logger.error('prediction failed', { ...ctx, error: err as Error }),
        runtime,
      },
    ),
  );
