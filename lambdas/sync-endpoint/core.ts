/**
 * Brings a model's serving target in line with the registry. In the `lambda` serving mode the
 * predict function reads the alias itself, so there is nothing to change. In the `endpoint` mode
 * the model's SageMaker endpoint is moved one step towards the planned variants (see
 * endpoint-plan.ts) and checked with DescribeEndpoint: the pipelines call this step, wait, and call
 * it again until it answers `ready` — which it only does when the variants and weights in service
 * are exactly the planned ones. A failed endpoint, a rolled-back update or too many attempts fail
 * the step with the reason.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type {
  Clock,
  EndpointControl,
  EndpointState,
  ModelRegistryPort,
  VariantSpec,
} from '../../core/ports.ts';
import { endpointNames } from '../../core/serving/endpoint-names.ts';
import {
  matchesPlan,
  type PlannedVariant,
  planVariants,
  variantName,
} from '../../core/serving/endpoint-plan.ts';

export interface SyncInput {
  model: string;
  /** Versions that must be on the endpoint (at weight 0 unless the alias gives them traffic). */
  include?: number[];
  /** Also keep the version production would roll back to (the rollback pipeline, before the alias moves). */
  includePrevious?: boolean;
  /** What the previous call of this sync did; the pipeline passes it back. */
  previous?: { attempt: number; requestedConfig?: string | null } | null;
}

export interface SyncOutput {
  model: string;
  mode: 'lambda' | 'endpoint';
  ready: boolean;
  attempt: number;
  /** What was asked of SageMaker in this call, if anything. */
  action: 'none' | 'create' | 'update-config' | 'update-weights' | 'wait';
  requestedConfig: string | null;
  planned: PlannedVariant[];
  /** How long the pipeline waits before calling again when not ready. */
  waitSeconds: number;
  endpoint?: string;
  status?: string;
}

/** What the sync needs in the `endpoint` serving mode. */
export interface EndpointSettings {
  mode: 'endpoint';
  prefix: string;
  instanceType: string;
  instanceCount: number;
  warmMinutes: number;
  image: string;
  executionRoleArn: string;
  /** The lake bucket; model artifacts are keys in it. */
  lakeBucket: string;
  kmsKeyId?: string;
  /** Calls after which a change that is still not in service fails the step. */
  maxAttempts: number;
  /** Seconds between calls while a change goes into service. */
  checkSeconds: number;
}

export interface SyncDeps {
  registry: Pick<ModelRegistryPort, 'getAlias' | 'requireVersion' | 'listVersions'>;
  endpoints: EndpointControl;
  clock: Clock;
  settings: { mode: 'lambda' } | EndpointSettings;
}

export async function syncEndpoint(input: SyncInput, deps: SyncDeps): Promise<SyncOutput> {
  const attempt = (input.previous?.attempt ?? 0) + 1;
  const { settings } = deps;
  if (settings.mode === 'lambda') {
    const base = { model: input.model, planned: [], attempt, waitSeconds: 0 };
    return { ...base, mode: 'lambda', ready: true, action: 'none', requestedConfig: null };
  }
  const alias = await deps.registry.getAlias(input.model);
  // Approved versions are on their way to production (a promotion is between its decision and the
  // alias): their variants stay, whoever runs the sync.
  const approved = (await deps.registry.listVersions(input.model))
    .filter((v) => v.status === 'Approved')
    .map((v) => v.version);
  const planned = planVariants(alias, {
    approved,
    now: deps.clock.now(),
    warmMinutes: settings.warmMinutes,
    include: [
      ...(input.include ?? []),
      ...(input.includePrevious && alias?.history.length ? [alias.history.at(-1)!] : []),
    ],
  });
  if (planned.length === 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `Model "${input.model}" has no production version and none was named: there is nothing to serve.`,
    );
  }
  const endpoint = endpointNames.endpoint(settings.prefix, input.model);
  const out = (ready: boolean, action: SyncOutput['action'], state?: EndpointState, requested?: string) => ({
    model: input.model,
    planned,
    attempt,
    waitSeconds: settings.checkSeconds,
    mode: 'endpoint' as const,
    ready,
    action,
    requestedConfig: requested ?? input.previous?.requestedConfig ?? null,
    endpoint,
    ...(state ? { status: state.status } : {}),
  });

  const state = await deps.endpoints.describe(endpoint);
  if (state?.status === 'Failed') {
    throw new PlatformError(
      errorNames.endpointFailed,
      `Endpoint ${endpoint} failed: ${state.failureReason ?? 'no reason given'}.`,
    );
  }
  if (state?.status === 'InService' && matchesPlan(state.variants, planned)) return out(true, 'none', state);
  if (attempt > settings.maxAttempts) {
    throw new PlatformError(
      errorNames.endpointTimeout,
      `Endpoint ${endpoint} did not reach the planned variants (${describePlan(planned)}) in ${settings.maxAttempts} checks.`,
    );
  }
  if (state && state.status !== 'InService') return out(false, 'wait', state);

  const variants: VariantSpec[] = planned.map((p) => ({
    variant: variantName(p.version),
    modelName: endpointNames.model(settings.prefix, input.model, p.version),
    weight: p.weight,
  }));
  const configName = endpointNames.config(settings.prefix, input.model, variants, {
    type: settings.instanceType,
    count: settings.instanceCount,
  });
  if (!state) {
    await ensureModelsAndConfig(input.model, planned, variants, configName, settings, deps);
    await deps.endpoints.createEndpoint(endpoint, configName);
    return out(false, 'create', undefined, configName);
  }
  const sameVariants =
    state.variants.length === planned.length &&
    planned.every((p) => state.variants.some((v) => v.name === variantName(p.version)));
  if (sameVariants) {
    await deps.endpoints.updateWeights(
      endpoint,
      variants.map((v) => ({ variant: v.variant, weight: v.weight })),
    );
    return out(false, 'update-weights', state);
  }
  // SageMaker rolls a failed config update back and reports why; asking again would loop.
  if (input.previous?.requestedConfig === configName && state.configName !== configName) {
    throw new PlatformError(
      errorNames.endpointFailed,
      `Endpoint ${endpoint} rolled back the update to ${configName}: ${state.failureReason ?? 'no reason given'}.`,
    );
  }
  await ensureModelsAndConfig(input.model, planned, variants, configName, settings, deps);
  await deps.endpoints.updateEndpoint(endpoint, configName);
  return out(false, 'update-config', state, configName);
}

function describePlan(planned: readonly PlannedVariant[]): string {
  return planned.map((p) => `${variantName(p.version)}=${p.weight}`).join(', ');
}

/** One SageMaker model per version (created once, never changed), then the endpoint config. */
async function ensureModelsAndConfig(
  model: string,
  planned: readonly PlannedVariant[],
  variants: readonly VariantSpec[],
  configName: string,
  settings: EndpointSettings,
  deps: SyncDeps,
): Promise<void> {
  for (const [i, p] of planned.entries()) {
    const v = await deps.registry.requireVersion(model, p.version);
    const submitDirectory = JSON.parse(v.hyperParameters.sagemaker_submit_directory ?? '""') as string;
    await deps.endpoints.ensureModel({
      name: variants[i]!.modelName,
      image: settings.image,
      modelDataUrl: `s3://${settings.lakeBucket}/${v.artifacts.modelTarball}`,
      executionRoleArn: settings.executionRoleArn,
      // Script mode: the container serves with the training script's model_fn / input_fn / output_fn.
      environment: {
        SAGEMAKER_PROGRAM: 'train.py',
        ...(submitDirectory ? { SAGEMAKER_SUBMIT_DIRECTORY: submitDirectory } : {}),
        MLOPS_MODEL: model,
        MLOPS_MODEL_VERSION: String(p.version),
      },
    });
  }
  await deps.endpoints.ensureConfig(configName, variants, {
    type: settings.instanceType,
    count: settings.instanceCount,
    ...(settings.kmsKeyId ? { kmsKeyId: settings.kmsKeyId } : {}),
  });
}
