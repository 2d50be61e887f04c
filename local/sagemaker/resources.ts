/**
 * What the local SageMaker service holds: models, endpoint configurations and endpoints, keyed by
 * name case-insensitively as SageMaker keys them, and the shapes the other modules share.
 */
import type { XgbModel } from '../../core/scorer/xgboost.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.ts';
import { validation } from './wire.ts';

export type EndpointStatus = 'Creating' | 'Updating' | 'InService' | 'Failed';

/** A fault a test can make one variant answer with; `null` clears it. */
export type VariantFault = 'error' | null;

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

export interface ModelRecord {
  name: string;
  arn: string;
  container: { Image: string; ModelDataUrl: string; Environment: Record<string, string> };
  executionRoleArn?: string;
  creationTime: Date;
}

export interface VariantConfig {
  VariantName: string;
  ModelName: string;
  InitialInstanceCount: number;
  InstanceType: string;
  InitialVariantWeight: number;
}

export interface ConfigRecord {
  name: string;
  arn: string;
  variants: VariantConfig[];
  kmsKeyId?: string;
  creationTime: Date;
}

/** A variant that is serving: its model is loaded. */
export interface LiveVariant {
  name: string;
  modelName: string;
  modelDataUrl: string;
  model: XgbModel;
  weight: number;
  instanceCount: number;
}

/** A variant as a change wants it. */
export interface DesiredVariant {
  name: string;
  weight: number;
  instanceCount: number;
}

/** A change in progress: what it deploys, and from when. */
export interface PendingChange {
  kind: 'create' | 'config' | 'weights';
  configName: string;
  variants: DesiredVariant[];
  startTime: Date;
}

export interface EndpointRecord {
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

/** The ARN of a SageMaker resource in the twin's account and region. */
export function arn(kind: string, name: string): string {
  return `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${kind}/${name.toLowerCase()}`;
}

export function emptyStats(): VariantStats {
  return { invocations: 0, rows: 0, errors: 0, latencyMs: [] };
}

/** The variants a configuration asks for, as a change wants them. */
export function desired(config: ConfigRecord): DesiredVariant[] {
  return config.variants.map((v) => ({
    name: v.VariantName,
    weight: v.InitialVariantWeight,
    instanceCount: v.InitialInstanceCount,
  }));
}

/** The service's resources; the lookups throw SageMaker's ValidationException for a missing name. */
export class SageMakerResources {
  readonly models = new Map<string, ModelRecord>();
  readonly configs = new Map<string, ConfigRecord>();
  readonly endpoints = new Map<string, EndpointRecord>();

  model(name: string): ModelRecord {
    const model = this.models.get(name.toLowerCase());
    if (!model) throw validation(`Could not find model "${arn('model', name)}".`);
    return model;
  }

  config(name: string): ConfigRecord {
    const config = this.configs.get(name.toLowerCase());
    if (!config) throw validation(`Could not find endpoint configuration "${name}".`);
    return config;
  }

  endpoint(name: string): EndpointRecord {
    const ep = this.endpoints.get(name.toLowerCase());
    if (!ep) throw validation(`Could not find endpoint "${name}".`);
    return ep;
  }

  /** The endpoint, or undefined when it does not exist (the runtime answers that its own way). */
  findEndpoint(name: string): EndpointRecord | undefined {
    return this.endpoints.get(name.toLowerCase());
  }

  /** True while `ep` is still the endpoint of its name (not deleted, not re-created). */
  isCurrent(ep: EndpointRecord): boolean {
    return this.endpoints.get(ep.name.toLowerCase()) === ep;
  }
}
