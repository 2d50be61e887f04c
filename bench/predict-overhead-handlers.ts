/**
 * The two handlers `bench/predict-overhead.ts` times, in a module of their own so that the benchmark
 * can build it with the functions' esbuild settings (`bench/function-bundle.ts`: ESM, minified) and
 * time the code as a function runs it, not as `tsx` compiles it from source.
 *
 * - ours: the predict function's middy chain as `lambdas/predict/handler.ts` builds it (the
 *   Lambda-context middleware, the proxy event mapped to the core's request) around `handlePredict`,
 *   with in-memory ports: a registry answering the production alias, a model cache already holding
 *   the version, a runtime that answers a constant score (the model excluded), a prediction log that
 *   takes the rows and drops them, and the real logger and metric emitter writing to a sink that
 *   drops the lines (the EMF documents are built, their I/O excluded).
 * - bare: a middy handler that parses the body and answers JSON.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseCsv } from '../core/features/csv.ts';
import { featureSchemaHash, fitTransform, validateRow } from '../core/features/transform.ts';
import { parseModelDefinition } from '../core/model/definition.ts';
import type { ModelRuntime } from '../core/ports.ts';
import type { PredictionRecord } from '../core/prediction-log.ts';
import type { ModelVersion } from '../core/registry/model.ts';
import { loadXgbModel } from '../core/scorer/xgboost.ts';
import { handlePredict, type LoadedVersion, type PredictDeps } from '../lambdas/predict/core.ts';
import { createModelCache } from '../lambdas/predict/model-cache.ts';
import { type LogSink, lambdaContext, observability } from '../lambdas/shared/observability.ts';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A one-tree XGBoost JSON model: the runtime answers a constant, so only its width matters. */
function stump(numFeatures: number): string {
  const width = String(numFeatures);
  return JSON.stringify({
    learner: {
      learner_model_param: { base_score: '5E-1', num_class: '0', num_feature: width, num_target: '1' },
      objective: { name: 'binary:logistic', reg_loss_param: { scale_pos_weight: '1' } },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_trees: '1', num_parallel_tree: '1' },
          tree_info: [0],
          trees: [
            {
              id: 0,
              left_children: [1, -1, -1],
              right_children: [2, -1, -1],
              split_indices: [0, 0, 0],
              split_conditions: [5, 1, -1],
              default_left: [1, 0, 0],
              split_type: [0, 0, 0],
              tree_param: { num_feature: width, num_nodes: '3', size_leaf_vector: '1' },
            },
          ],
        },
      },
    },
    version: [1, 7, 4],
  });
}

/** The model's version 1 as the cache holds it: its definition, its transform fitted on the CSV's rows. */
function loadedVersion(definitionJson: string, csv: string): LoadedVersion {
  const definition = parseModelDefinition(JSON.parse(definitionJson), 'the model definition');
  const { records } = parseCsv(csv);
  const rows = records.flatMap((r) => {
    const res = validateRow(definition.spec, r.values, 'csv', true);
    return res.ok ? [res.row] : [];
  });
  const transform = fitTransform(definition.spec, rows);
  // Only what serving reads of a registry record.
  const version = {
    model: definition.name,
    version: 1,
    status: 'Production',
    createdAt: new Date(0).toISOString(),
    featureSchemaHash: featureSchemaHash(definition.spec, transform),
    definition,
    artifacts: { modelJson: 'model.json', transform: 'transform.json' },
  } as unknown as ModelVersion;
  return {
    version,
    serving: { version: 1, model: loadXgbModel(stump(transform.columns.length)), transform },
    hashOk: true,
  };
}

/** Both handlers, around the model of `definitionJson` with its transform fitted on `csv`. */
export async function buildHandlers(
  definitionJson: string,
  csv: string,
  /** Where the log and EMF lines go; by default they are built and dropped. */
  sink: LogSink = { stdout: () => {}, stderr: () => {} },
): Promise<{
  ours: ProxyHandler;
  bare: ProxyHandler;
  model: string;
  logged: () => number;
  rows: () => PredictionRecord[];
}> {
  const loaded = loadedVersion(definitionJson, csv);
  const model = loaded.version.model;
  const { logger, metrics } = observability(
    { POWERTOOLS_SERVICE_NAME: 'predict', POWERTOOLS_METRICS_NAMESPACE: 'Mlops/bench' },
    sink,
  );
  const constant: ModelRuntime = {
    mode: 'lambda',
    async score(_model, serving, vectors) {
      return { scores: vectors.map(() => 0.25), variant: `v${serving.version}` };
    },
  };
  const cache = createModelCache();
  await cache.get(model, 1, async () => loaded);
  const benchClient = { client: 'default' };
  let logged = 0;
  let last: PredictionRecord[] = [];
  const deps: PredictDeps = {
    registry: {
      getAlias: async (name) => ({ model: name, current: 1, history: [], updatedAt: '' }),
      getVersion: async () => loaded.version,
    },
    lake: { getText: async () => '' },
    cache,
    runtime: constant,
    log: {
      write: async (rows) => {
        logged += rows.length;
        last = rows;
      },
    },
    // As the function's: the request's times read without making Dates.
    clock: { now: () => new Date(), millis: Date.now },
    knownModels: [model],
    defaultModel: model,
    // As the function emits them: under [Model] and [Model, Client].
    metric: (name, metric, value, client) =>
      metrics.emit(name, metric, value, client === undefined ? undefined : { client }),
    // As the function does: each client's dimensions made once.
    emitMetrics: (name, entries) => metrics.emitMany(name, entries, benchClient),
    onError: (err, ctx) => logger.error('prediction failed', { ...ctx, error: err }),
  };
  const ours = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(lambdaContext<APIGatewayProxyEvent, APIGatewayProxyResult>(logger))
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
          client: 'default',
        },
        deps,
      ),
    );
  const bare = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>().handler(async (event) => {
    const parsed = JSON.parse(event.body ?? '{}') as { instances: unknown[] };
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        predictions: parsed.instances.map(() => ({ score: 0.25, label: 'good' })),
        requestId: event.requestContext.requestId,
      }),
    };
  });
  return { ours, bare, model, logged: () => logged, rows: () => last };
}
