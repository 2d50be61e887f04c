/**
 * Every port the domain and the function cores depend on, in one place. Adapters implement them:
 * lambdas/shared/adapters/aws/ for AWS (the twin points the same adapters at its local services),
 * and tests bring in-memory ones.
 */
import type { PredictionRecord } from './prediction-log.ts';
import type {
  AuditEvent,
  CanaryState,
  EvidenceRecord,
  GuardrailDecision,
  Lease,
  ModelVersion,
  ProductionAlias,
  ShadowState,
  StatusMove,
  VersionStatus,
} from './registry/model.ts';
import type { ServingModel } from './serving/model.ts';

export interface ObjectStore {
  readonly bucket: string;
  getBytes(key: string): Promise<Uint8Array>;
  getText(key: string): Promise<string>;
  /** Returns undefined when the key does not exist. */
  tryGetText(key: string): Promise<string | undefined>;
  put(key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}

/** An {@link ObjectStore} that also reads part of an object: what reading a large object in pieces needs. */
export interface RangedObjectStore extends ObjectStore {
  /** The object's size in bytes; NoSuchKey when it does not exist. */
  size(key: string): Promise<number>;
  /** Bytes `[start, end)` of the object (fewer when it ends first). */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The model registry. Versions are write-once; status moves only along allowed transitions; the
 * production alias, its canary and its shadow change only by conditional writes on what was read,
 * so of two racing changes exactly one wins; every change writes an audit event.
 */
export interface ModelRegistryPort {
  /** Reserves the next version number for a model (1, 2, ...). */
  allocateVersion(model: string): Promise<number>;
  /** Writes a new version; refused (InvalidStatusTransition) if the number exists. */
  putVersion(record: ModelVersion): Promise<void>;
  getVersion(model: string, version: number): Promise<ModelVersion | undefined>;
  /** The version, or VersionNotFound. */
  requireVersion(model: string, version: number): Promise<ModelVersion>;
  listVersions(model: string): Promise<ModelVersion[]>;
  /** Moves a version to `to` if the transition is allowed and its status is still the one read. */
  transition(
    model: string,
    version: number,
    to: VersionStatus,
    extra?: { decision?: GuardrailDecision; reason?: string },
  ): Promise<ModelVersion>;
  getAlias(model: string, consistent?: boolean): Promise<ProductionAlias | undefined>;
  /**
   * Points the alias at `next.current` only if it still points at `expected`; else AliasConflict.
   * The alias records when `current` was promoted (`promotedAt`), or, with `restored`, when a
   * rollback restored it (`restoredAt`). The `statuses` the move sets (the new production version's,
   * the replaced one's) are written in the same write as the alias: no reader sees one without the
   * other, and a crash cannot leave production on a version whose status says otherwise.
   */
  moveAlias(
    model: string,
    expected: number | undefined,
    next: {
      current: number;
      history: number[];
      reason?: string;
      restored?: boolean;
      statuses?: readonly StatusMove[];
    },
  ): Promise<ProductionAlias>;
  /** Records a guardrail decision with its evidence, once. */
  putEvidence(record: EvidenceRecord): Promise<void>;
  listEvidence(model: string, version: number): Promise<EvidenceRecord[]>;
  startCanary(
    model: string,
    expectedCurrent: number,
    canary: Omit<CanaryState, 'startedAt'>,
  ): Promise<CanaryState>;
  endCanary(model: string, version: number, reason: string): Promise<void>;
  setCanaryWeight(model: string, version: number, weight: number): Promise<CanaryState>;
  startShadow(model: string, expectedCurrent: number, version: number): Promise<ShadowState>;
  endShadow(model: string, version: number, report: Record<string, unknown>): Promise<void>;
  audit(event: Omit<AuditEvent, 'at'>): Promise<void>;
  /** Every audit event of a model, oldest first. */
  listAudit(model: string): Promise<AuditEvent[]>;
}

/**
 * Per-model leases, taken by a conditional write with an expiry: of two racing takers exactly one
 * wins, and a lease its holder never released frees itself at `until`.
 */
export interface LeasePort {
  /** Takes the lease, or returns the unexpired lease another holder has. */
  acquire(lease: Lease): Promise<{ acquired: true; lease: Lease } | { acquired: false; held: Lease }>;
  /** Gives the lease up if `holder` still has it; false when it had expired or was taken over. */
  release(model: string, name: string, holder: string): Promise<boolean>;
  /** The lease, expired or not; undefined when never taken or released. */
  get(model: string, name: string): Promise<Lease | undefined>;
}

/** Where served predictions are recorded: one row per instance, scored or failed. */
export interface PredictionLogPort {
  write(rows: PredictionRecord[]): Promise<void>;
}

/** Reads back the prediction log rows of one model logged between two instants. */
export type PredictionWindowReader = (model: string, from: Date, to: Date) => Promise<PredictionRecord[]>;

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

/** The port through which the pipelines change SageMaker endpoints. */
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

export interface ScoreResult {
  scores: ArrayLike<number>;
  /** The variant that answered: `v<N>`. */
  variant: string;
}

/** Where a version's scores come from: the in-process scorer or the model's SageMaker endpoint. */
export interface ModelRuntime {
  readonly mode: 'lambda' | 'endpoint';
  score(model: string, serving: ServingModel, vectors: readonly Float64Array[]): Promise<ScoreResult>;
}
