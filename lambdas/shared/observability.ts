/**
 * Structured logs and CloudWatch metrics (Embedded Metric Format) for every platform function: one
 * log line format and one metric emitter, built by each handler from its parsed environment.
 *
 * Why not Powertools Logger and Metrics: the predict function is budgeted at 1.15x the bundle size
 * and the cold import of a bundle that only constructs its SDK clients (BENCHMARKS.md). Measured on
 * predict's bundle with the functions' esbuild settings, Powertools Logger with its middy middleware
 * takes about 22 KB and Powertools Metrics about 10 KB, where this module takes 2 KB: with them the
 * bundle was 1.21x its floor and its import 1.21x the floor's instructions, against 1.14x and 1.12x
 * with this module (both then still with zod). It writes what the functions used of Powertools:
 * JSON log lines with the keys Powertools writes (`level`, `message`, `service`, `timestamp`, the
 * Lambda context keys), and one EMF document per metric, namespace from
 * `POWERTOOLS_METRICS_NAMESPACE`, the `Model` dimension (with `Variant` and `Feature` for the drift
 * metrics that carry them, and a second set with `Client` for predict's), names and units from
 * `contracts/metrics.ts`.
 *
 * Lines go to `process.stdout` (errors and warnings to `process.stderr`), written to the streams
 * rather than through `console`, which the Lambda runtime patches to prefix each line with a
 * timestamp, request id and level (Powertools writes to the streams too): each line stays one JSON
 * document, as EMF and the twin's log capture (`local/log-capture.ts`) read it.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  CLIENT_DIMENSION,
  FEATURE_DIMENSION,
  MODEL_DIMENSION,
  type PlatformMetric,
  platformMetrics,
  VARIANT_DIMENSION,
} from '../../contracts/metrics.ts';

/** Log levels, lowest first. */
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** A log level, spelled as Powertools and `AWS_LAMBDA_LOG_LEVEL` spell it. */
export type LogLevel = (typeof LEVELS)[number];

/** Where lines go; the default writes to the process's stdout and stderr. */
export interface LogSink {
  stdout(line: string): void;
  stderr(line: string): void;
}

const processSink: LogSink = {
  // Looked up at each write, so a capture installed after the function loaded (the twin's) sees it.
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

/** A structured logger: one JSON object per line. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Replaces the keys that every following line carries (the invocation's Lambda context). */
  setContext(keys: Record<string, unknown>): void;
}

/**
 * A metric's dimensions besides `Model`: the drift job's variant (`canary`, `shadow`) and feature,
 * and predict's API client. A variant and a feature are added to the metric's dimension set, `Model`
 * first, then `Variant`, then `Feature` (contracts/metrics.ts: `[Model, Feature]`, `[Model, Variant]`).
 * A client adds a second set, the first one plus `Client` (`[Model]` and `[Model, Client]`), so the
 * series the alarms watch stays as it was.
 */
export interface MetricDimensions {
  readonly feature?: string;
  readonly variant?: string;
  readonly client?: string;
}

/** Emits platform metrics, each with the `Model` dimension (and any others given). */
export interface MetricEmitter {
  emit(model: string, metric: PlatformMetric, value: number, dimensions?: MetricDimensions): void;
  /**
   * Emits several metrics of one model and dimensions as one EMF document (a request's metrics):
   * one line where each metric alone would write its own. A metric given twice keeps both values.
   */
  emitMany(
    model: string,
    entries: readonly (readonly [PlatformMetric, number])[],
    dimensions?: MetricDimensions,
  ): void;
}

/** The log level a function runs at: `POWERTOOLS_LOG_LEVEL`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else INFO. */
export function configuredLogLevel(env: Record<string, string | undefined> = process.env): LogLevel {
  const raw = (env.POWERTOOLS_LOG_LEVEL ?? env.AWS_LAMBDA_LOG_LEVEL ?? 'INFO').toUpperCase();
  if (raw === 'WARNING') return 'WARN';
  if (raw === 'TRACE') return 'DEBUG';
  if (raw === 'CRITICAL' || raw === 'FATAL') return 'ERROR';
  return (LEVELS as readonly string[]).includes(raw) ? (raw as LogLevel) : 'INFO';
}

/** An error as a log value: its name, message and stack (JSON.stringify would give `{}`). */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The function's service name (`POWERTOOLS_SERVICE_NAME`). */
  readonly service: string;
  /**
   * The lowest level written.
   * @default configuredLogLevel()
   */
  readonly level?: LogLevel;
  /**
   * Where lines go.
   * @default process stdout (DEBUG, INFO) and stderr (WARN, ERROR)
   */
  readonly sink?: LogSink;
  /**
   * The time a line carries.
   * @default the current time
   */
  readonly now?: () => Date;
}

/** A logger writing one JSON line per entry, with the keys Powertools Logger writes. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVELS.indexOf(options.level ?? configuredLogLevel());
  const sink = options.sink ?? processSink;
  const now = options.now ?? (() => new Date());
  let context: Record<string, unknown> = {};
  const write = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (LEVELS.indexOf(level) < threshold) return;
    const entry: Record<string, unknown> = {
      level,
      message,
      service: options.service,
      timestamp: now().toISOString(),
      ...context,
    };
    for (const [key, value] of Object.entries(fields)) entry[key] = plain(value);
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch (err) {
      // A circular or BigInt field must not lose the entry itself: it is written without its fields.
      line = JSON.stringify({
        level,
        message,
        service: options.service,
        timestamp: entry.timestamp,
        ...context,
        log_error: `fields not serializable: ${(err as Error).message}`,
      });
    }
    if (level === 'WARN' || level === 'ERROR') sink.stderr(line);
    else sink.stdout(line);
  };
  return {
    debug: (message, fields) => write('DEBUG', message, fields),
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
    setContext(keys) {
      context = keys;
    },
  };
}

/**
 * One metric as an EMF document: CloudWatch (and the twin, which reads the same lines) records
 * `value` under the metric's name and unit in `namespace`, with one dimension set: the model (the
 * set the alarms and the dashboard query), then the variant and the feature when given; with a
 * client, also under a second set, that one plus `Client`.
 */
export function emfDocument(
  namespace: string,
  model: string,
  metric: PlatformMetric,
  value: number,
  timestamp: number,
  dimensions: MetricDimensions = {},
): Record<string, unknown> {
  return emfDocumentOf(namespace, model, [[metric, value]], timestamp, dimensions);
}

/** Several metrics in one EMF document: each under its name and unit, a repeated one as a list of values. */
export function emfDocumentOf(
  namespace: string,
  model: string,
  entries: readonly (readonly [PlatformMetric, number])[],
  timestamp: number,
  dimensions: MetricDimensions = {},
): Record<string, unknown> {
  const set: string[] = [MODEL_DIMENSION];
  const values: Record<string, string> = { [MODEL_DIMENSION]: model };
  if (dimensions.variant !== undefined) {
    set.push(VARIANT_DIMENSION);
    values[VARIANT_DIMENSION] = dimensions.variant;
  }
  if (dimensions.feature !== undefined) {
    set.push(FEATURE_DIMENSION);
    values[FEATURE_DIMENSION] = dimensions.feature;
  }
  const sets = [set];
  if (dimensions.client !== undefined) {
    sets.push([...set, CLIENT_DIMENSION]);
    values[CLIENT_DIMENSION] = dimensions.client;
  }
  const metrics: { Name: string; Unit: string }[] = [];
  const measured: Record<string, number | number[]> = {};
  for (const [metric, value] of entries) {
    const { name, unit } = platformMetrics[metric];
    const seen = measured[name];
    if (seen === undefined) {
      metrics.push({ Name: name, Unit: unit });
      measured[name] = value;
    } else measured[name] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: sets, Metrics: metrics }],
    },
    ...values,
    ...measured,
  };
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** The namespace (`POWERTOOLS_METRICS_NAMESPACE`, `Mlops/<stage>`). */
  readonly namespace: string;
  /**
   * Where EMF lines go (their stdout).
   * @default process stdout
   */
  readonly sink?: LogSink;
  /**
   * The time a metric is recorded at.
   * @default the current time
   */
  readonly now?: () => Date;
}

/**
 * The text of the EMF documents of one sequence of metrics, for one model and dimensions: a document
 * differs from one emission to the next only in its timestamp (first) and its values (last), so the
 * text between them is serialized once and kept.
 */
interface EmfTemplate {
  /** The metrics of the sequence, in order. */
  readonly metrics: readonly PlatformMetric[];
  /** `,"<name>":` of each metric in turn: its value follows. */
  readonly keys: readonly string[];
  /**
   * The document after its timestamp, up to its last dimension value; undefined until first written,
   * null when only the general builder writes it (a metric given twice: its values are a list).
   */
  head: string | null | undefined;
  /** The templates of the sequences that continue this one, by their next metric. */
  next: Map<PlatformMetric, EmfTemplate> | undefined;
}

/**
 * A model's templates, by dimensions: a client's alone by its name, none by '', any others by the
 * JSON of their variant, feature and client.
 */
interface ModelTemplates {
  readonly byClient: Map<string, EmfTemplate>;
  readonly byDimensions: Map<string, EmfTemplate>;
  /** Templates made for the model; all are dropped past {@link MAX_TEMPLATES_PER_MODEL}. */
  size: number;
}

const MAX_MODELS = 256;
const MAX_TEMPLATES_PER_MODEL = 4096;

const emptyTemplate = (): EmfTemplate => ({ metrics: [], keys: [], head: undefined, next: undefined });

/**
 * A metric emitter writing one EMF line per call, at once (nothing waits for a flush). Each line is
 * the kept text of its model's, dimensions' and metrics' document with the timestamp and the values
 * written in: a request emits its metrics on every request, and serializing the document each time
 * cost more than the rest of a warm predict request's own work (bench/predict-overhead.ts). The
 * template is found by lookups of the strings the caller holds (the model, the client, each metric's
 * name), not by a key built per line.
 */
export function createMetrics(options: MetricsOptions): MetricEmitter {
  const sink = options.sink ?? processSink;
  const clock = options.now;
  const now = clock ? () => clock().getTime() : Date.now;
  const models = new Map<string, ModelTemplates>();

  /** The template of no metrics yet for a model and dimensions, the root of its sequences. */
  function root(model: string, dimensions: MetricDimensions | undefined): EmfTemplate {
    let kept = models.get(model);
    if (!kept) {
      if (models.size >= MAX_MODELS) models.clear();
      kept = { byClient: new Map(), byDimensions: new Map(), size: 0 };
      models.set(model, kept);
    } else if (kept.size >= MAX_TEMPLATES_PER_MODEL) {
      kept.byClient.clear();
      kept.byDimensions.clear();
      kept.size = 0;
    }
    let byKey = kept.byDimensions;
    let key = '';
    if (dimensions) {
      // The predict function's one dimension, its client, looked up by its name.
      if (dimensions.feature === undefined && dimensions.variant === undefined) {
        if (dimensions.client !== undefined) {
          byKey = kept.byClient;
          key = dimensions.client;
        }
      } else key = JSON.stringify([dimensions.variant, dimensions.feature, dimensions.client]);
    }
    let template = byKey.get(key);
    if (!template) {
      template = emptyTemplate();
      byKey.set(key, template);
      kept.size += 1;
    }
    return template;
  }

  /** The template that continues `from` with `metric`. */
  function step(model: string, from: EmfTemplate, metric: PlatformMetric): EmfTemplate {
    from.next ??= new Map();
    let template = from.next.get(metric);
    if (!template) {
      template = {
        metrics: [...from.metrics, metric],
        keys: [...from.keys, `,${JSON.stringify(platformMetrics[metric].name)}:`],
        head: undefined,
        next: undefined,
      };
      from.next.set(metric, template);
      const kept = models.get(model);
      if (kept) kept.size += 1;
    }
    return template;
  }

  /** The kept head of a template, serialized at its first use. */
  function headOf(
    model: string,
    template: EmfTemplate,
    dimensions: MetricDimensions | undefined,
  ): string | null {
    if (template.head !== undefined) return template.head;
    const { metrics } = template;
    if (new Set(metrics).size !== metrics.length) template.head = null;
    else {
      const doc = emfDocumentOf(
        options.namespace,
        model,
        metrics.map((metric) => [metric, 0] as const),
        0,
        dimensions,
      );
      for (const metric of metrics) delete doc[platformMetrics[metric].name];
      const text = JSON.stringify(doc);
      template.head =
        text.startsWith(EMF_HEAD) && text.endsWith('}') ? text.slice(EMF_HEAD.length, -1) : null;
    }
    return template.head;
  }

  return {
    emit(model, metric, value, dimensions) {
      const template = step(model, root(model, dimensions), metric);
      const timestamp = now();
      const head = Number.isFinite(value) ? headOf(model, template, dimensions) : null;
      sink.stdout(
        head === null
          ? JSON.stringify(emfDocument(options.namespace, model, metric, value, timestamp, dimensions))
          : `${EMF_HEAD_TS}${timestamp}${head}${template.keys[0]}${value}}`,
      );
    },
    emitMany(model, entries, dimensions) {
      if (entries.length === 0) return;
      let template = root(model, dimensions);
      // A value JSON cannot print (NaN, Infinity: null) takes the general path.
      let finite = true;
      for (const [metric, value] of entries) {
        template = step(model, template, metric);
        if (!Number.isFinite(value)) finite = false;
      }
      const timestamp = now();
      const head = finite ? headOf(model, template, dimensions) : null;
      if (head === null) {
        sink.stdout(JSON.stringify(emfDocumentOf(options.namespace, model, entries, timestamp, dimensions)));
        return;
      }
      const { keys } = template;
      let line = `${EMF_HEAD_TS}${timestamp}${head}`;
      for (let i = 0; i < entries.length; i++) line += `${keys[i]}${entries[i]![1]}`;
      sink.stdout(`${line}}`);
    },
  };
}

/** How an EMF document of {@link emfDocument} starts: its timestamp is the first value. */
const EMF_HEAD_TS = '{"_aws":{"Timestamp":';
const EMF_HEAD = `${EMF_HEAD_TS}0`;

/** The part of a function's environment its logs and metrics come from. */
export interface ObservabilityEnv {
  readonly POWERTOOLS_SERVICE_NAME: string;
  readonly POWERTOOLS_METRICS_NAMESPACE: string;
}

/** A function's logger and metric emitter, from its parsed environment. */
export function observability(
  env: ObservabilityEnv,
  sink?: LogSink,
): { logger: Logger; metrics: MetricEmitter } {
  return {
    logger: createLogger({ service: env.POWERTOOLS_SERVICE_NAME, ...(sink ? { sink } : {}) }),
    metrics: createMetrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, ...(sink ? { sink } : {}) }),
  };
}

/**
 * Middy middleware that puts the invocation's Lambda context on every log line of the invocation
 * (`cold_start`, `function_arn`, `function_memory_size`, `function_name`, `function_request_id`,
 * `xray_trace_id`), as Powertools' `injectLambdaContext` does.
 */
export function lambdaContext<E, R>(logger: Logger): MiddlewareObj<E, R, Error, Context> {
  let coldStart = true;
  // One object for the instance's life, its fields set for each invocation: a line copies them when
  // it is written. The trace id is read then too (most requests write no line, and reading the
  // environment costs more than the rest of this middleware); it is left out of a line when unset.
  const keys = {
    cold_start: true,
    function_arn: '',
    function_memory_size: '',
    function_name: '',
    function_request_id: '',
    get xray_trace_id(): string | undefined {
      return process.env._X_AMZN_TRACE_ID || undefined;
    },
  };
  return {
    before(request) {
      const { context } = request;
      keys.cold_start = coldStart;
      keys.function_arn = context.invokedFunctionArn;
      keys.function_memory_size = context.memoryLimitInMB;
      keys.function_name = context.functionName;
      keys.function_request_id = context.awsRequestId;
      logger.setContext(keys);
      coldStart = false;
    },
  };
}
