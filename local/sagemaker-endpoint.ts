/**
 * A local stand-in for SageMaker real-time endpoints. SageMaker's control plane and runtime have no
 * local counterpart (no emulator ships with the SDK or with s3rver/dynalite), so the twin serves the
 * wire protocols of the operations the platform uses, on loopback, and the real AWS SDK v3 clients
 * talk to it through their `endpoint` setting:
 *   - the control plane speaks AWS JSON 1.1 (`POST /`, `X-Amz-Target: SageMaker.<Operation>`) for
 *     models, endpoint configurations and endpoints, with the Creating/Updating → InService (or
 *     Failed) life cycle, weighted production variants, and a failed update rolling back;
 *   - the runtime speaks REST JSON (`POST /endpoints/{name}/invocations`) and scores the platform's
 *     CSV serving contract with the TypeScript XGBoost scorer, which matches XGBoost within 1e-6,
 *     instead of running the serving container.
 *
 * Not emulated: instances (counts are recorded, nothing is provisioned), autoscaling, data capture,
 * shadow variants, serverless and async inference, the real container code (a model's Image and
 * Environment are recorded only; the inference script never runs), IAM (roles are recorded,
 * requests are not authorised and signatures are not checked) and service quotas.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseS3Uri } from '../core/lake.ts';
import type { ObjectStore } from '../core/ports.ts';
import { loadXgbModel, type XgbModel } from '../core/scorer/xgboost.ts';
import { untar } from '../lambdas/shared/model-artifacts.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './template.ts';

/** The account and region the twin's ARNs and messages name. */

/** InvokeEndpoint's payload limit (6 MB), as documented for real-time endpoints. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** SageMaker's pattern for model, endpoint configuration, endpoint and variant names. */
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const NAME_PATTERN_TEXT = '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}';

const INVOKE_ROUTE = /^\/endpoints\/([^/]+)\/invocations\/?$/;

export type EndpointStatus = 'Creating' | 'Updating' | 'InService' | 'Failed';

/** A fault a test can make one variant answer with; `null` clears it. */
export type VariantFault = 'error' | null;

export interface LocalSageMakerEndpointsProps {
  /** Opens the bucket that a model's `ModelDataUrl` (`s3://bucket/key`, a model.tar.gz) is in. */
  readonly getStore: (bucket: string) => ObjectStore;
  /**
   * How long Creating and Updating last before the endpoint is InService (at least as long as the
   * models take to load).
   * @default 20
   */
  readonly transitionMs?: number;
  /**
   * Draws the weighted choice of a production variant; pass a seeded generator for repeatable
   * traffic splits.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** One production variant as DescribeEndpoint reports it. */
export interface VariantSummary {
  VariantName: string;
  CurrentWeight: number;
  DesiredWeight: number;
  CurrentInstanceCount: number;
  DesiredInstanceCount: number;
}

/** DescribeEndpoint's answer (the subset the twin fills in). */
export interface EndpointDescription {
  EndpointName: string;
  EndpointArn: string;
  EndpointConfigName: string;
  EndpointStatus: EndpointStatus;
  ProductionVariants: VariantSummary[];
  /** Why creation failed, or why the last update was rolled back. */
  FailureReason?: string;
  /** The configuration an UpdateEndpoint is deploying, while it is Updating. */
  PendingDeploymentSummary?: {
    EndpointConfigName: string;
    ProductionVariants: VariantSummary[];
    StartTime: Date;
  };
  CreationTime: Date;
  LastModifiedTime: Date;
}

/** What one variant of an endpoint has served since the endpoint was created. */
export interface VariantStats {
  /** Invocations routed to the variant, failed ones included. */
  invocations: number;
  /** Rows scored successfully. */
  rows: number;
  /** Invocations the model answered with an error (ModelError). */
  errors: number;
  /** Time spent on each invocation routed to the variant, in milliseconds. */
  latencyMs: number[];
}

type Json = Record<string, unknown>;

/** A service error, with the status and error code the SDK maps to an exception `name`. */
class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Json = {},
  ) {
    super(message);
    this.name = code;
  }
}

function validation(message: string): ServiceError {
  return new ServiceError(400, 'ValidationException', message);
}

function runtimeValidation(message: string): ServiceError {
  return new ServiceError(400, 'ValidationError', message);
}

interface ModelRecord {
  name: string;
  arn: string;
  container: { Image: string; ModelDataUrl: string; Environment: Record<string, string> };
  executionRoleArn?: string;
  creationTime: Date;
}

interface VariantConfig {
  VariantName: string;
  ModelName: string;
  InitialInstanceCount: number;
  InstanceType: string;
  InitialVariantWeight: number;
}

interface ConfigRecord {
  name: string;
  arn: string;
  variants: VariantConfig[];
  kmsKeyId?: string;
  creationTime: Date;
}

/** A variant that is serving: its model is loaded. */
interface LiveVariant {
  name: string;
  modelName: string;
  modelDataUrl: string;
  model: XgbModel;
  weight: number;
  instanceCount: number;
}

interface DesiredVariant {
  name: string;
  weight: number;
  instanceCount: number;
}

interface PendingChange {
  kind: 'create' | 'config' | 'weights';
  configName: string;
  variants: DesiredVariant[];
  startTime: Date;
}

interface EndpointRecord {
  name: string;
  arn: string;
  configName: string;
  status: EndpointStatus;
  failureReason?: string;
  creationTime: Date;
  lastModifiedTime: Date;
  live: LiveVariant[];
  pending?: PendingChange;
  /** Bumped on every change, so a transition that finishes after a newer one (or a delete) is ignored. */
  generation: number;
  stats: Map<string, VariantStats>;
  faults: Set<string>;
}

function arn(kind: string, name: string): string {
  return `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${kind}/${name.toLowerCase()}`;
}

function memberName(key: string): string {
  return key.charAt(0).toLowerCase() + key.slice(1);
}

function requireString(input: Json, key: string): string {
  const value = input[key];
  if (value === undefined || value === null) {
    throw validation(
      `1 validation error detected: Value null at '${memberName(key)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (typeof value !== 'string') {
    throw validation(`Value ${JSON.stringify(value)} at '${memberName(key)}' must be a string.`);
  }
  return value;
}

function optionalString(input: Json, key: string): string | undefined {
  return input[key] === undefined || input[key] === null ? undefined : requireString(input, key);
}

function requireName(input: Json, key: string): string {
  const value = requireString(input, key);
  if (!NAME_PATTERN.test(value)) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${memberName(key)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${NAME_PATTERN_TEXT}`,
    );
  }
  return value;
}

function optionalNumber(input: Json, key: string, min: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw validation(
      `1 validation error detected: Value '${String(value)}' at '${memberName(key)}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  }
  return value;
}

function list(input: Json, key: string): Json[] {
  const value = input[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null)) {
    throw validation(`Value at '${memberName(key)}' must be a list of structures.`);
  }
  return value as Json[];
}

/** Dates become epoch seconds, the AWS JSON protocols' default timestamp format. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function emptyStats(): VariantStats {
  return { invocations: 0, rows: 0, errors: 0, latencyMs: [] };
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * SageMaker endpoints on loopback: one HTTP server answers both the control plane
 * (`@aws-sdk/client-sagemaker`) and the runtime (`@aws-sdk/client-sagemaker-runtime`).
 */
export class LocalSageMakerEndpoints {
  private readonly getStore: (bucket: string) => ObjectStore;
  private readonly transitionMs: number;
  private readonly random: () => number;
  private readonly models = new Map<string, ModelRecord>();
  private readonly configs = new Map<string, ConfigRecord>();
  private readonly endpointRecords = new Map<string, EndpointRecord>();
  private readonly loadedModels = new Map<string, Promise<XgbModel>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;

  constructor(props: LocalSageMakerEndpointsProps) {
    const transitionMs = props.transitionMs ?? 20;
    if (!Number.isFinite(transitionMs) || transitionMs < 0) {
      throw new Error(`transitionMs must be a number of milliseconds ≥ 0, got ${transitionMs}`);
    }
    this.getStore = props.getStore;
    this.transitionMs = transitionMs;
    this.random = props.random ?? Math.random;
  }

  /** Listens on a free loopback port and returns the URL to give the SDK clients as `endpoint`. */
  async start(): Promise<string> {
    if (this.server) throw new Error('LocalSageMakerEndpoints is already started');
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Stops listening, drops kept-alive SDK connections and cancels pending transitions. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Names of the endpoints that exist, in name order. */
  endpoints(): string[] {
    return [...this.endpointRecords.values()].map((e) => e.name).sort();
  }

  /** The endpoint as DescribeEndpoint reports it. @throws Error when there is no such endpoint. */
  describe(endpointName: string): EndpointDescription {
    return this.describeRecord(this.endpoint(endpointName));
  }

  /** Per-variant counters of an endpoint (copies), including variants that no longer serve. */
  variantStats(endpointName: string): Record<string, VariantStats> {
    const ep = this.endpoint(endpointName);
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
  injectFault(endpointName: string, variantName: string, fault: VariantFault): void {
    const ep = this.endpoint(endpointName);
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

  private endpoint(name: string): EndpointRecord {
    const ep = this.endpointRecords.get(name.toLowerCase());
    if (!ep) throw validation(`Could not find endpoint "${name}".`);
    return ep;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const invoke = INVOKE_ROUTE.exec(url.pathname);
    const target = req.headers['x-amz-target'];
    try {
      if (req.method === 'POST' && invoke) {
        await this.handleInvoke(req, res, decodeURIComponent(invoke[1]!), requestId);
      } else if (req.method === 'POST' && url.pathname === '/' && typeof target === 'string') {
        await this.handleControl(req, res, target, requestId);
      } else {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-requestid': requestId });
        res.end(
          JSON.stringify({
            message: `The local SageMaker twin serves POST / (X-Amz-Target: SageMaker.<Operation>) and POST /endpoints/{name}/invocations; got ${req.method} ${url.pathname}`,
          }),
        );
      }
    } catch (err) {
      // A request that fails outside an operation (e.g. the socket dropped): answer if still possible.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalFailure' });
        res.end(JSON.stringify({ message: (err as Error).message }));
      }
    }
  }

  private async handleControl(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    requestId: string,
  ): Promise<void> {
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId };
    try {
      const operation = target.startsWith('SageMaker.') ? target.slice('SageMaker.'.length) : '';
      const handler = this.operations[operation];
      if (!handler) {
        throw new ServiceError(
          400,
          'UnknownOperationException',
          `The local SageMaker twin does not implement "${target}"; it serves SageMaker.${Object.keys(this.operations).join(', SageMaker.')}.`,
        );
      }
      const text = (await readBody(req)).toString('utf8');
      let input: unknown;
      try {
        input = text.trim() === '' ? {} : JSON.parse(text);
      } catch (err) {
        throw new ServiceError(
          400,
          'SerializationException',
          `The request body is not JSON: ${(err as Error).message}`,
        );
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new ServiceError(400, 'SerializationException', 'The request body must be a JSON object.');
      }
      const output = handler(input as Json);
      res.writeHead(200, headers);
      res.end(JSON.stringify(toWire(output)));
    } catch (err) {
      const e =
        err instanceof ServiceError ? err : new ServiceError(500, 'InternalFailure', (err as Error).message);
      res.writeHead(e.status, headers);
      res.end(JSON.stringify({ __type: e.code, message: e.message, ...e.fields }));
    }
  }

  private readonly operations: Record<string, (input: Json) => unknown> = {
    CreateModel: (i) => this.createModel(i),
    DescribeModel: (i) => this.describeModel(i),
    DeleteModel: (i) => this.deleteModel(i),
    CreateEndpointConfig: (i) => this.createEndpointConfig(i),
    DescribeEndpointConfig: (i) => this.describeEndpointConfig(i),
    DeleteEndpointConfig: (i) => this.deleteEndpointConfig(i),
    CreateEndpoint: (i) => this.createEndpoint(i),
    DescribeEndpoint: (i) => this.describe(requireString(i, 'EndpointName')),
    UpdateEndpoint: (i) => this.updateEndpoint(i),
    UpdateEndpointWeightsAndCapacities: (i) => this.updateWeights(i),
    DeleteEndpoint: (i) => this.deleteEndpoint(i),
    ListEndpoints: (i) => this.listEndpoints(i),
  };

  private model(name: string): ModelRecord {
    const model = this.models.get(name.toLowerCase());
    if (!model) throw validation(`Could not find model "${arn('model', name)}".`);
    return model;
  }

  private config(name: string): ConfigRecord {
    const config = this.configs.get(name.toLowerCase());
    if (!config) throw validation(`Could not find endpoint configuration "${name}".`);
    return config;
  }

  private createModel(input: Json): Json {
    const name = requireName(input, 'ModelName');
    if (this.models.has(name.toLowerCase())) {
      throw validation(`Cannot create already existing model "${arn('model', name)}".`);
    }
    const container = input['PrimaryContainer'];
    if (typeof container !== 'object' || container === null) {
      throw validation(
        `The local SageMaker twin needs PrimaryContainer for model ${name} (Containers and inference pipelines are not emulated).`,
      );
    }
    const c = container as Json;
    const image = requireString(c, 'Image');
    const modelDataUrl = requireString(c, 'ModelDataUrl');
    try {
      parseS3Uri(modelDataUrl);
    } catch {
      throw validation(
        `Model ${name}: ModelDataUrl "${modelDataUrl}" is not an S3 URI; give the model.tar.gz as s3://bucket/key.`,
      );
    }
    const env = c['Environment'];
    const environment: Record<string, string> = {};
    if (env !== undefined && env !== null) {
      if (typeof env !== 'object' || Array.isArray(env)) throw validation('Environment must be a map.');
      for (const [k, v] of Object.entries(env)) environment[k] = String(v);
    }
    const record: ModelRecord = {
      name,
      arn: arn('model', name),
      container: { Image: image, ModelDataUrl: modelDataUrl, Environment: environment },
      executionRoleArn: optionalString(input, 'ExecutionRoleArn'),
      creationTime: new Date(),
    };
    this.models.set(name.toLowerCase(), record);
    return { ModelArn: record.arn };
  }

  private describeModel(input: Json): Json {
    const m = this.model(requireString(input, 'ModelName'));
    return {
      ModelName: m.name,
      ModelArn: m.arn,
      PrimaryContainer: m.container,
      ExecutionRoleArn: m.executionRoleArn,
      CreationTime: m.creationTime,
    };
  }

  private deleteModel(input: Json): Json {
    const m = this.model(requireString(input, 'ModelName'));
    this.models.delete(m.name.toLowerCase());
    return {};
  }

  private createEndpointConfig(input: Json): Json {
    const name = requireName(input, 'EndpointConfigName');
    if (this.configs.has(name.toLowerCase())) {
      throw validation(
        `Cannot create already existing endpoint configuration "${arn('endpoint-config', name)}".`,
      );
    }
    const raw = list(input, 'ProductionVariants');
    if (raw.length === 0) {
      throw validation(
        `Endpoint configuration ${name} needs at least one production variant in ProductionVariants.`,
      );
    }
    const seen = new Set<string>();
    const variants = raw.map((v): VariantConfig => {
      const variantName = requireName(v, 'VariantName');
      if (seen.has(variantName)) {
        throw validation(
          `Endpoint configuration ${name} names the production variant "${variantName}" twice; variant names must be unique.`,
        );
      }
      seen.add(variantName);
      const modelName = requireString(v, 'ModelName');
      this.model(modelName);
      if (v['ServerlessConfig'] !== undefined) {
        throw validation(`Variant ${variantName}: serverless variants are not emulated by the local twin.`);
      }
      return {
        VariantName: variantName,
        ModelName: modelName,
        InitialInstanceCount: optionalNumber(v, 'InitialInstanceCount', 1) ?? 1,
        InstanceType: requireString(v, 'InstanceType'),
        InitialVariantWeight: optionalNumber(v, 'InitialVariantWeight', 0) ?? 1,
      };
    });
    const record: ConfigRecord = {
      name,
      arn: arn('endpoint-config', name),
      variants,
      kmsKeyId: optionalString(input, 'KmsKeyId'),
      creationTime: new Date(),
    };
    this.configs.set(name.toLowerCase(), record);
    return { EndpointConfigArn: record.arn };
  }

  private describeEndpointConfig(input: Json): Json {
    const c = this.config(requireString(input, 'EndpointConfigName'));
    return {
      EndpointConfigName: c.name,
      EndpointConfigArn: c.arn,
      ProductionVariants: c.variants,
      KmsKeyId: c.kmsKeyId,
      CreationTime: c.creationTime,
    };
  }

  private deleteEndpointConfig(input: Json): Json {
    const c = this.config(requireString(input, 'EndpointConfigName'));
    // As in SageMaker, endpoints keep serving what they deployed from a deleted configuration.
    this.configs.delete(c.name.toLowerCase());
    return {};
  }

  private createEndpoint(input: Json): Json {
    const name = requireName(input, 'EndpointName');
    if (this.endpointRecords.has(name.toLowerCase())) {
      throw validation(`Cannot create already existing endpoint "${arn('endpoint', name)}".`);
    }
    const config = this.config(requireString(input, 'EndpointConfigName'));
    const now = new Date();
    const ep: EndpointRecord = {
      name,
      arn: arn('endpoint', name),
      configName: config.name,
      status: 'Creating',
      creationTime: now,
      lastModifiedTime: now,
      live: [],
      pending: { kind: 'create', configName: config.name, variants: desired(config), startTime: now },
      generation: 0,
      stats: new Map(),
      faults: new Set(),
    };
    this.endpointRecords.set(name.toLowerCase(), ep);
    this.transition(ep, this.loadVariants(config), {
      applied: (variants) => {
        ep.live = variants;
        ep.status = 'InService';
      },
      failed: (reason) => {
        ep.status = 'Failed';
        ep.failureReason = reason;
      },
    });
    return { EndpointArn: ep.arn };
  }

  private updateEndpoint(input: Json): Json {
    const ep = this.endpoint(requireString(input, 'EndpointName'));
    this.requireInService(ep);
    const config = this.config(requireString(input, 'EndpointConfigName'));
    ep.status = 'Updating';
    ep.lastModifiedTime = new Date();
    ep.pending = {
      kind: 'config',
      configName: config.name,
      variants: desired(config),
      startTime: ep.lastModifiedTime,
    };
    this.transition(ep, this.loadVariants(config), {
      applied: (variants) => {
        ep.live = variants;
        ep.configName = config.name;
        ep.failureReason = undefined;
        ep.status = 'InService';
      },
      // SageMaker rolls a failed update back: the previous variants never stopped serving.
      failed: (reason) => {
        ep.failureReason = reason;
        ep.status = 'InService';
      },
    });
    return { EndpointArn: ep.arn };
  }

  private updateWeights(input: Json): Json {
    const ep = this.endpoint(requireString(input, 'EndpointName'));
    this.requireInService(ep);
    const changes = list(input, 'DesiredWeightsAndCapacities');
    if (changes.length === 0) {
      throw validation(`DesiredWeightsAndCapacities for endpoint ${ep.name} must name at least one variant.`);
    }
    const byName = new Map(changes.map((c) => [requireString(c, 'VariantName'), c]));
    const unknown = [...byName.keys()].filter((n) => !ep.live.some((v) => v.name === n));
    if (unknown.length > 0) {
      throw validation(
        `The variant name(s) "${unknown.join('", "')}" is/are not present in the endpoint configuration "${ep.configName}" of endpoint "${ep.name}"; its variants are ${ep.live.map((v) => v.name).join(', ')}.`,
      );
    }
    const variants = ep.live.map((v): DesiredVariant => {
      const c = byName.get(v.name);
      return {
        name: v.name,
        weight: (c && optionalNumber(c, 'DesiredWeight', 0)) ?? v.weight,
        instanceCount: (c && optionalNumber(c, 'DesiredInstanceCount', 0)) ?? v.instanceCount,
      };
    });
    ep.status = 'Updating';
    ep.lastModifiedTime = new Date();
    ep.pending = { kind: 'weights', configName: ep.configName, variants, startTime: ep.lastModifiedTime };
    this.transition(ep, Promise.resolve(variants), {
      applied: (wanted) => {
        for (const v of ep.live) {
          const w = wanted.find((d) => d.name === v.name);
          if (w) {
            v.weight = w.weight;
            v.instanceCount = w.instanceCount;
          }
        }
        ep.status = 'InService';
      },
      failed: () => {
        ep.status = 'InService';
      },
    });
    return { EndpointArn: ep.arn };
  }

  private deleteEndpoint(input: Json): Json {
    const ep = this.endpoint(requireString(input, 'EndpointName'));
    ep.generation++;
    this.endpointRecords.delete(ep.name.toLowerCase());
    return {};
  }

  private listEndpoints(input: Json): Json {
    const nameContains = optionalString(input, 'NameContains')?.toLowerCase();
    const status = optionalString(input, 'StatusEquals');
    const sortBy = optionalString(input, 'SortBy') ?? 'CreationTime';
    const descending = (optionalString(input, 'SortOrder') ?? 'Descending') === 'Descending';
    const max = optionalNumber(input, 'MaxResults', 1) ?? 100;
    const start = Number(optionalString(input, 'NextToken') ?? '0') || 0;
    const key = (e: EndpointRecord): string | number =>
      sortBy === 'Name' ? e.name : sortBy === 'Status' ? e.status : e.creationTime.getTime();
    const matching = [...this.endpointRecords.values()]
      .filter((e) => !nameContains || e.name.toLowerCase().includes(nameContains))
      .filter((e) => !status || e.status === status)
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (descending ? -1 : 1));
    const page = matching.slice(start, start + max);
    return {
      Endpoints: page.map((e) => ({
        EndpointName: e.name,
        EndpointArn: e.arn,
        CreationTime: e.creationTime,
        LastModifiedTime: e.lastModifiedTime,
        EndpointStatus: e.status,
      })),
      NextToken: start + max < matching.length ? String(start + max) : undefined,
    };
  }

  private requireInService(ep: EndpointRecord): void {
    if (ep.status !== 'InService') {
      throw validation(
        ep.status === 'Failed'
          ? `Cannot update failed endpoint "${ep.arn}"; delete it and create it again.`
          : `Cannot update in-progress endpoint "${ep.arn}"; wait until it is InService (it is ${ep.status}).`,
      );
    }
  }

  private describeRecord(ep: EndpointRecord): EndpointDescription {
    const pending = ep.pending;
    const summaries =
      ep.live.length > 0
        ? ep.live.map((v): VariantSummary => {
            const want =
              pending?.kind === 'weights' ? pending.variants.find((d) => d.name === v.name) : undefined;
            return {
              VariantName: v.name,
              CurrentWeight: v.weight,
              DesiredWeight: want?.weight ?? v.weight,
              CurrentInstanceCount: v.instanceCount,
              DesiredInstanceCount: want?.instanceCount ?? v.instanceCount,
            };
          })
        : // Nothing serves yet: the variants being created, at weight and instance count zero.
          (pending?.kind === 'create' ? pending.variants : []).map(
            (d): VariantSummary => ({
              VariantName: d.name,
              CurrentWeight: 0,
              DesiredWeight: d.weight,
              CurrentInstanceCount: 0,
              DesiredInstanceCount: d.instanceCount,
            }),
          );
    return {
      EndpointName: ep.name,
      EndpointArn: ep.arn,
      EndpointConfigName: ep.configName,
      EndpointStatus: ep.status,
      ProductionVariants: summaries,
      FailureReason: ep.failureReason,
      PendingDeploymentSummary:
        pending?.kind === 'config'
          ? {
              EndpointConfigName: pending.configName,
              ProductionVariants: pending.variants.map((d) => ({
                VariantName: d.name,
                CurrentWeight: 0,
                DesiredWeight: d.weight,
                CurrentInstanceCount: 0,
                DesiredInstanceCount: d.instanceCount,
              })),
              StartTime: pending.startTime,
            }
          : undefined,
      CreationTime: ep.creationTime,
      LastModifiedTime: ep.lastModifiedTime,
    };
  }

  /**
   * Finishes a change once `work` has settled and `transitionMs` has passed, unless the endpoint
   * changed again or was deleted meanwhile.
   */
  private transition<T>(
    ep: EndpointRecord,
    work: Promise<T>,
    on: { applied: (result: T) => void; failed: (reason: string) => void },
  ): void {
    const generation = ++ep.generation;
    const outcome = work.then(
      (value) => ({ ok: true as const, value }),
      (err: unknown) => ({ ok: false as const, reason: (err as Error).message }),
    );
    void Promise.all([outcome, this.delay(this.transitionMs)]).then(([result]) => {
      if (this.endpointRecords.get(ep.name.toLowerCase()) !== ep || ep.generation !== generation) return;
      ep.pending = undefined;
      ep.lastModifiedTime = new Date();
      if (result.ok) on.applied(result.value);
      else on.failed(result.reason);
    });
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async loadVariants(config: ConfigRecord): Promise<LiveVariant[]> {
    return Promise.all(
      config.variants.map(async (v): Promise<LiveVariant> => {
        const model = this.models.get(v.ModelName.toLowerCase());
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
            model: await this.loadModel(model.container.ModelDataUrl),
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
  private loadModel(modelDataUrl: string): Promise<XgbModel> {
    let loading = this.loadedModels.get(modelDataUrl);
    if (!loading) {
      loading = this.readModel(modelDataUrl);
      this.loadedModels.set(modelDataUrl, loading);
      loading.catch(() => this.loadedModels.delete(modelDataUrl));
    }
    return loading;
  }

  private async readModel(modelDataUrl: string): Promise<XgbModel> {
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

  private async handleInvoke(
    req: IncomingMessage,
    res: ServerResponse,
    endpointName: string,
    requestId: string,
  ): Promise<void> {
    const body = await readBody(req);
    const started = performance.now();
    let stats: VariantStats | undefined;
    try {
      const ep = this.endpointRecords.get(endpointName.toLowerCase());
      if (!ep) throw runtimeValidation(`Endpoint ${endpointName} of account ${LOCAL_ACCOUNT} not found.`);
      if (ep.live.length === 0) {
        throw runtimeValidation(
          `Endpoint ${ep.name} of account ${LOCAL_ACCOUNT} is not in service: it is ${ep.status}${ep.failureReason ? ` (${ep.failureReason})` : ''}.`,
        );
      }
      if (body.length > MAX_PAYLOAD_BYTES) {
        throw runtimeValidation(
          `The request body is ${body.length} bytes; InvokeEndpoint accepts at most ${MAX_PAYLOAD_BYTES}. Send fewer rows per request.`,
        );
      }
      const contentType = mediaType(req.headers['content-type']);
      if (contentType !== 'text/csv') {
        throw runtimeValidation(
          `Content type "${contentType || '(none)'}" is not supported by endpoint ${ep.name}: send ContentType text/csv (one row per line, comma-separated numbers, no header).`,
        );
      }
      const accept = req.headers.accept;
      if (
        accept &&
        !accept.split(',').some((a) => ['application/json', 'application/*', '*/*'].includes(mediaType(a)))
      ) {
        throw runtimeValidation(
          `Accept "${accept}" is not supported by endpoint ${ep.name}: it answers application/json.`,
        );
      }
      const variant = this.chooseVariant(ep, req.headers['x-amzn-sagemaker-target-variant']);
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
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-amzn-invoked-production-variant': variant.name,
        'x-amzn-requestid': requestId,
      });
      res.end(JSON.stringify({ scores }));
    } catch (err) {
      const e =
        err instanceof ServiceError ? err : new ServiceError(500, 'InternalFailure', (err as Error).message);
      if (stats) {
        if (e.code === 'ModelError') stats.errors++;
        stats.latencyMs.push(performance.now() - started);
      }
      res.writeHead(e.status, {
        'content-type': 'application/json',
        'x-amzn-errortype': e.code,
        'x-amzn-requestid': requestId,
      });
      res.end(JSON.stringify({ Message: e.message, ...e.fields }));
    }
  }

  private chooseVariant(ep: EndpointRecord, target: string | string[] | undefined): LiveVariant {
    if (typeof target === 'string' && target !== '') {
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

function desired(config: ConfigRecord): DesiredVariant[] {
  return config.variants.map((v) => ({
    name: v.VariantName,
    weight: v.InitialVariantWeight,
    instanceCount: v.InitialInstanceCount,
  }));
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
function parseRows(text: string, numFeatures: number): number[][] | string {
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
