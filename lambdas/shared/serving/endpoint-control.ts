/**
 * The port through which the pipelines change SageMaker endpoints, and the names they use. The AWS
 * adapter (adapters/aws/sagemaker-endpoints.ts) speaks to SageMaker; the local twin points the same
 * adapter at its local endpoint service.
 */
import { createHash } from 'node:crypto';

export interface EndpointVariantState {
  name: string;
  /** The weight in service. */
  weight: number;
  desiredWeight?: number;
}

export interface EndpointState {
  status:
    | 'Creating'
    | 'Updating'
    | 'InService'
    | 'Failed'
    | 'SystemUpdating'
    | 'RollingBack'
    | 'Deleting'
    | 'OutOfService';
  configName: string;
  variants: EndpointVariantState[];
  failureReason?: string;
}

export interface ModelSpec {
  name: string;
  image: string;
  modelDataUrl: string;
  environment: Record<string, string>;
  executionRoleArn: string;
}

export interface VariantSpec {
  variant: string;
  modelName: string;
  weight: number;
}

export interface EndpointControl {
  /** The endpoint as DescribeEndpoint reports it; undefined when it does not exist. */
  describe(endpoint: string): Promise<EndpointState | undefined>;
  /** Creates the SageMaker model unless one of that name exists (models are immutable). */
  ensureModel(spec: ModelSpec): Promise<void>;
  /** Creates the endpoint config unless it exists (configs are immutable too). */
  ensureConfig(
    configName: string,
    variants: readonly VariantSpec[],
    instance: { type: string; count: number; kmsKeyId?: string },
  ): Promise<void>;
  createEndpoint(endpoint: string, configName: string): Promise<void>;
  updateEndpoint(endpoint: string, configName: string): Promise<void>;
  updateWeights(endpoint: string, weights: readonly { variant: string; weight: number }[]): Promise<void>;
}

const MAX_NAME = 63;

/** A SageMaker resource name (at most 63 of [a-zA-Z0-9-]); long names keep a hash of the whole. */
export function sagemakerName(...parts: (string | number)[]): string {
  const full = parts.join('-');
  if (full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_NAME - 9).replace(/-+$/, '')}-${hash}`;
}

export const endpointNames = {
  endpoint: (prefix: string, model: string) => sagemakerName(prefix, model),
  model: (prefix: string, model: string, version: number) => sagemakerName(prefix, model, `v${version}`),
  /** Configs are named by their content, so asking twice for the same variants reuses one. */
  config: (
    prefix: string,
    model: string,
    variants: readonly VariantSpec[],
    instance: { type: string; count: number },
  ) =>
    sagemakerName(
      prefix,
      model,
      createHash('sha256').update(JSON.stringify({ variants, instance })).digest('hex').slice(0, 10),
    ),
};
