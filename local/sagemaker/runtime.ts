/**
 * SageMaker's runtime (InvokeEndpoint) for the platform's serving contract: CSV rows in, JSON
 * scores out. A request goes to the variant it names (TargetVariant) or to one drawn by weight,
 * the response names it (InvokedProductionVariant), and the variant's `model.tar.gz` is scored by
 * the TypeScript XGBoost scorer (which matches XGBoost within 1e-6) instead of the serving
 * container. Each variant counts what it served, and a test can make one variant fail.
 */
import { parseS3Uri } from '../../core/lake.ts';
import type { ObjectStore } from '../../core/ports.ts';
import { loadXgbModel, type XgbModel } from '../../core/scorer/xgboost.ts';
import { untar } from '../../lambdas/shared/model-artifacts.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.ts';
import {
  type ConfigRecord,
  type EndpointRecord,
  emptyStats,
  type LiveVariant,
  type SageMakerResources,
  type VariantFault,
  type VariantStats,
} from './resources.ts';
import {
  type InvokeRequest,
  type InvokeResponse,
  mediaType,
  runtimeValidation,
  ServiceError,
} from './wire.ts';

/** InvokeEndpoint's payload limit (6 MB), as documented for real-time endpoints. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Reads and caches the XGBoost JSON models in `model.tar.gz` archives. */
export class ModelLoader {
  private readonly loaded = new Map<string, Promise<XgbModel>>();

  constructor(
    private readonly resources: SageMakerResources,
    private readonly getStore: (bucket: string) => ObjectStore,
  ) {}

  /** Loads the models of a configuration's variants; rejects naming the first variant that fails. */
  async loadVariants(config: ConfigRecord): Promise<LiveVariant[]> {
    return Promise.all(
      config.variants.map(async (v): Promise<LiveVariant> => {
        const model = this.resources.models.get(v.ModelName.toLowerCase());
        if (!model) {
          throw new Error(
            `Production variant ${v.VariantName}: model ${v.ModelName} no longer exists; create it again before deploying ${config.name}.`,
          );
        }
        try {
          return {
            name: v.VariantName,
            modelName: model.name,
            modelDataUrl: model.container.ModelDataUrl,
            model: await this.load(model.container.ModelDataUrl),
            weight: v.InitialVariantWeight,
            instanceCount: v.InitialInstanceCount,
          };
        } catch (err) {
          throw new Error(
            `The model for production variant ${v.VariantName} (${model.name}) could not be loaded: ${(err as Error).message}`,
          );
        }
      }),
    );
  }

  /** Loads (once per URL) the XGBoost JSON model in a model.tar.gz; a failed load is not cached. */
  private load(modelDataUrl: string): Promise<XgbModel> {
    let loading = this.loaded.get(modelDataUrl);
    if (!loading) {
      loading = this.read(modelDataUrl);
      this.loaded.set(modelDataUrl, loading);
      loading.catch(() => this.loaded.delete(modelDataUrl));
    }
    return loading;
  }

  private async read(modelDataUrl: string): Promise<XgbModel> {
    const { bucket, key } = parseS3Uri(modelDataUrl);
    let bytes: Uint8Array;
    try {
      bytes = await this.getStore(bucket).getBytes(key);
    } catch (err) {
      throw new Error(`cannot read ${modelDataUrl}: ${(err as Error).message}`);
    }
    let files: Map<string, Buffer>;
    try {
      files = await untar(bytes);
    } catch (err) {
      throw new Error(`${modelDataUrl} is not a gzipped tar archive: ${(err as Error).message}`);
    }
    let file = 'model.json';
    let text = files.get(file)?.toString('utf8');
    if (text === undefined) {
      file = 'xgboost-model';
      text = files.get(file)?.toString('utf8');
      if (text !== undefined && !text.trimStart().startsWith('{')) text = undefined;
    }
    if (text === undefined) {
      throw new Error(
        `${modelDataUrl} holds no XGBoost JSON model: expected model.json (or xgboost-model saved as JSON); it holds ${[...files.keys()].join(', ') || 'no files'}.`,
      );
    }
    try {
      return loadXgbModel(text);
    } catch (err) {
      throw new Error(`${file} in ${modelDataUrl}: ${(err as Error).message}`);
    }
  }
}

/** InvokeEndpoint over the endpoints' live variants. */
export class SageMakerRuntime {
  constructor(
    private readonly resources: SageMakerResources,
    /** Draws the weighted choice of a variant, in [0, 1). */
    private readonly random: () => number,
  ) {}

  /** Per-variant counters of an endpoint (copies), including variants that no longer serve. */
  variantStats(ep: EndpointRecord): Record<string, VariantStats> {
    const names = new Set([...ep.live.map((v) => v.name), ...ep.stats.keys()]);
    return Object.fromEntries(
      [...names].map((name) => {
        const s = ep.stats.get(name) ?? emptyStats();
        return [name, { ...s, latencyMs: [...s.latencyMs] }];
      }),
    );
  }

  /**
   * Makes one variant answer every invocation with a ModelError (a 500 from the container), or
   * clears that with `null`. The fault survives updates that keep the variant's name.
   */
  injectFault(ep: EndpointRecord, variantName: string, fault: VariantFault): void {
    const known = new Set([
      ...ep.live.map((v) => v.name),
      ...(ep.pending?.variants ?? []).map((v) => v.name),
    ]);
    if (!known.has(variantName)) {
      throw new Error(
        `Endpoint ${ep.name} has no variant "${variantName}"; its variants are: ${[...known].join(', ') || '(none)'}`,
      );
    }
    if (fault === 'error') ep.faults.add(variantName);
    else ep.faults.delete(variantName);
  }

  /** Scores a request's rows with one variant; throws a {@link ServiceError} as SageMaker answers. */
  async invoke(request: InvokeRequest): Promise<InvokeResponse> {
    const started = performance.now();
    let stats: VariantStats | undefined;
    try {
      const ep = this.resources.findEndpoint(request.endpointName);
      if (!ep) {
        throw runtimeValidation(`Endpoint ${request.endpointName} of account ${LOCAL_ACCOUNT} not found.`);
      }
      if (ep.live.length === 0) {
        throw runtimeValidation(
          `Endpoint ${ep.name} of account ${LOCAL_ACCOUNT} is not in service: it is ${ep.status}${ep.failureReason ? ` (${ep.failureReason})` : ''}.`,
        );
      }
      const { body } = request;
      if (body.length > MAX_PAYLOAD_BYTES) {
        throw runtimeValidation(
          `The request body is ${body.length} bytes; InvokeEndpoint accepts at most ${MAX_PAYLOAD_BYTES}. Send fewer rows per request.`,
        );
      }
      if (request.contentType !== 'text/csv') {
        throw runtimeValidation(
          `Content type "${request.contentType || '(none)'}" is not supported by endpoint ${ep.name}: send ContentType text/csv (one row per line, comma-separated numbers, no header).`,
        );
      }
      const accept = request.accept;
      if (
        accept &&
        !accept.split(',').some((a) => ['application/json', 'application/*', '*/*'].includes(mediaType(a)))
      ) {
        throw runtimeValidation(
          `Accept "${accept}" is not supported by endpoint ${ep.name}: it answers application/json.`,
        );
      }
      const variant = this.chooseVariant(ep, request.targetVariant);
      stats = ep.stats.get(variant.name);
      if (!stats) {
        stats = emptyStats();
        ep.stats.set(variant.name, stats);
      }
      stats.invocations++;
      if (ep.faults.has(variant.name)) {
        throw modelError(
          ep,
          variant,
          500,
          `Fault injected into variant ${variant.name} of endpoint ${ep.name}.`,
        );
      }
      const rows = parseRows(body.toString('utf8'), variant.model.numFeatures);
      if (typeof rows === 'string') throw modelError(ep, variant, 400, rows);
      const scores = Array.from(variant.model.predictBatch(rows));
      stats.rows += rows.length;
      stats.latencyMs.push(performance.now() - started);
      return {
        body: JSON.stringify({ scores }),
        contentType: 'application/json',
        invokedVariant: variant.name,
      };
    } catch (err) {
      if (stats) {
        if (err instanceof ServiceError && err.code === 'ModelError') stats.errors++;
        stats.latencyMs.push(performance.now() - started);
      }
      throw err;
    }
  }

  private chooseVariant(ep: EndpointRecord, target: string | undefined): LiveVariant {
    if (target !== undefined) {
      const v = ep.live.find((l) => l.name === target);
      if (!v) {
        throw runtimeValidation(
          `Endpoint ${ep.name} has no production variant "${target}"; its variants are ${ep.live.map((l) => l.name).join(', ')}.`,
        );
      }
      return v;
    }
    const candidates = ep.live.filter((v) => v.weight > 0);
    const total = candidates.reduce((sum, v) => sum + v.weight, 0);
    if (candidates.length === 0) {
      throw runtimeValidation(
        `Endpoint ${ep.name} has no production variant with a weight above zero; set a weight with UpdateEndpointWeightsAndCapacities or name a TargetVariant.`,
      );
    }
    let draw = this.random() * total;
    for (const v of candidates) {
      draw -= v.weight;
      if (draw < 0) return v;
    }
    return candidates[candidates.length - 1]!;
  }
}

/** SageMaker's wrapping of an error the container answered, as a 424 ModelError. */
function modelError(
  ep: EndpointRecord,
  variant: LiveVariant,
  status: number,
  original: string,
): ServiceError {
  const kind = status >= 500 ? 'server' : 'client';
  return new ServiceError(
    424,
    'ModelError',
    `Received ${kind} error (${status}) from variant ${variant.name} with message "${original}". See the log group /aws/sagemaker/Endpoints/${ep.name} in account ${LOCAL_ACCOUNT} for more information.`,
    {
      ErrorCode: status >= 500 ? 'SERVER_ERROR_FROM_MODEL' : 'CLIENT_ERROR_FROM_MODEL',
      OriginalStatusCode: status,
      OriginalMessage: original,
      LogStreamArn: `arn:aws:logs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${ep.name}`,
    },
  );
}

/**
 * Parses the serving contract's CSV: one row per line, comma-separated numbers, an empty cell is a
 * missing value (NaN). Returns the rows, or a message naming the first bad row (1-based).
 */
export function parseRows(text: string, numFeatures: number): number[][] | string {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return 'The request has no rows: send one CSV row of feature values per line.';
  const rows: number[][] = [];
  for (const [i, line] of lines.entries()) {
    const cells = line.split(',');
    if (cells.length !== numFeatures) {
      return `Row ${i + 1} has ${cells.length} values but the model expects ${numFeatures} features (no header, no label column).`;
    }
    const row = new Array<number>(numFeatures);
    for (const [j, raw] of cells.entries()) {
      const cell = raw.trim();
      const value = cell === '' ? Number.NaN : Number(cell);
      if (cell !== '' && Number.isNaN(value)) {
        return `Row ${i + 1}, column ${j + 1}: "${cell}" is not a number (leave the cell empty for a missing value).`;
      }
      row[j] = value;
    }
    rows.push(row);
  }
  return rows;
}
