/**
 * SageMaker's control plane for real-time endpoints: models, endpoint configurations and
 * endpoints (create, describe, update, delete, list), with SageMaker's input validation and its
 * messages, so a wrong call fails here as it would on AWS. Status changes are the life cycle's.
 */
import { parseS3Uri } from '../../core/lake.ts';
import type { EndpointLifecycle } from './lifecycle.ts';
import {
  arn,
  type ConfigRecord,
  type DesiredVariant,
  type EndpointDescription,
  type EndpointRecord,
  type ModelRecord,
  type SageMakerResources,
  type VariantConfig,
  type VariantSummary,
} from './resources.ts';
import { type ControlOperation, type Json, validation } from './wire.ts';

/** SageMaker's pattern for model, endpoint configuration, endpoint and variant names. */
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const NAME_PATTERN_TEXT = '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}';

/** The input member as SageMaker's validation messages name it (`endpointName`). */
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

/** The control plane's operations over the service's resources. */
export class SageMakerControlPlane {
  /** The operations by name, as `X-Amz-Target: SageMaker.<name>` calls them. */
  readonly operations: Readonly<Record<string, ControlOperation>> = {
    CreateModel: (i) => this.createModel(i),
    DescribeModel: (i) => this.describeModel(i),
    DeleteModel: (i) => this.deleteModel(i),
    CreateEndpointConfig: (i) => this.createEndpointConfig(i),
    DescribeEndpointConfig: (i) => this.describeEndpointConfig(i),
    DeleteEndpointConfig: (i) => this.deleteEndpointConfig(i),
    CreateEndpoint: (i) => this.createEndpoint(i),
    DescribeEndpoint: (i) => this.describeEndpoint(this.resources.endpoint(requireString(i, 'EndpointName'))),
    UpdateEndpoint: (i) => this.updateEndpoint(i),
    UpdateEndpointWeightsAndCapacities: (i) => this.updateWeights(i),
    DeleteEndpoint: (i) => this.deleteEndpoint(i),
    ListEndpoints: (i) => this.listEndpoints(i),
  };

  constructor(
    private readonly resources: SageMakerResources,
    private readonly lifecycle: EndpointLifecycle,
  ) {}

  /** An endpoint as DescribeEndpoint reports it, the change in progress included. */
  describeEndpoint(ep: EndpointRecord): EndpointDescription {
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

  private createModel(input: Json): Json {
    const name = requireName(input, 'ModelName');
    if (this.resources.models.has(name.toLowerCase())) {
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
    this.resources.models.set(name.toLowerCase(), record);
    return { ModelArn: record.arn };
  }

  private describeModel(input: Json): Json {
    const m = this.resources.model(requireString(input, 'ModelName'));
    return {
      ModelName: m.name,
      ModelArn: m.arn,
      PrimaryContainer: m.container,
      ExecutionRoleArn: m.executionRoleArn,
      CreationTime: m.creationTime,
    };
  }

  private deleteModel(input: Json): Json {
    const m = this.resources.model(requireString(input, 'ModelName'));
    this.resources.models.delete(m.name.toLowerCase());
    return {};
  }

  private createEndpointConfig(input: Json): Json {
    const name = requireName(input, 'EndpointConfigName');
    if (this.resources.configs.has(name.toLowerCase())) {
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
      this.resources.model(modelName);
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
    this.resources.configs.set(name.toLowerCase(), record);
    return { EndpointConfigArn: record.arn };
  }

  private describeEndpointConfig(input: Json): Json {
    const c = this.resources.config(requireString(input, 'EndpointConfigName'));
    return {
      EndpointConfigName: c.name,
      EndpointConfigArn: c.arn,
      ProductionVariants: c.variants,
      KmsKeyId: c.kmsKeyId,
      CreationTime: c.creationTime,
    };
  }

  private deleteEndpointConfig(input: Json): Json {
    const c = this.resources.config(requireString(input, 'EndpointConfigName'));
    // As in SageMaker, endpoints keep serving what they deployed from a deleted configuration.
    this.resources.configs.delete(c.name.toLowerCase());
    return {};
  }

  private createEndpoint(input: Json): Json {
    const name = requireName(input, 'EndpointName');
    if (this.resources.endpoints.has(name.toLowerCase())) {
      throw validation(`Cannot create already existing endpoint "${arn('endpoint', name)}".`);
    }
    const config = this.resources.config(requireString(input, 'EndpointConfigName'));
    const now = new Date();
    const ep: EndpointRecord = {
      name,
      arn: arn('endpoint', name),
      configName: config.name,
      status: 'Creating',
      creationTime: now,
      lastModifiedTime: now,
      live: [],
      generation: 0,
      stats: new Map(),
      faults: new Set(),
    };
    this.resources.endpoints.set(name.toLowerCase(), ep);
    this.lifecycle.create(ep, config);
    return { EndpointArn: ep.arn };
  }

  private updateEndpoint(input: Json): Json {
    const ep = this.resources.endpoint(requireString(input, 'EndpointName'));
    this.lifecycle.requireInService(ep);
    const config = this.resources.config(requireString(input, 'EndpointConfigName'));
    this.lifecycle.update(ep, config);
    return { EndpointArn: ep.arn };
  }

  private updateWeights(input: Json): Json {
    const ep = this.resources.endpoint(requireString(input, 'EndpointName'));
    this.lifecycle.requireInService(ep);
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
    this.lifecycle.updateWeights(ep, variants);
    return { EndpointArn: ep.arn };
  }

  private deleteEndpoint(input: Json): Json {
    const ep = this.resources.endpoint(requireString(input, 'EndpointName'));
    this.lifecycle.abandon(ep);
    this.resources.endpoints.delete(ep.name.toLowerCase());
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
    const matching = [...this.resources.endpoints.values()]
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
}
