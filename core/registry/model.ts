/**
 * The model registry's domain: version statuses and the transitions allowed between them, the
 * version record (lineage, metrics, definition, artifacts, decision), the production alias with its
 * canary and shadow, evidence records and audit events. The DynamoDB adapter stores these.
 */
import type { Metrics } from '../evaluation/classification.ts';
import type { GoldenLineage } from '../lake.ts';
import type { ModelDefinition } from '../model/definition.ts';

export type VersionStatus =
  | 'Candidate'
  | 'Approved'
  | 'Rejected'
  | 'Production'
  | 'Retired'
  | 'RolledBack'
  | 'Failed';

/** Allowed status transitions; anything else is refused. */
export const allowedTransitions: Record<VersionStatus, readonly VersionStatus[]> = {
  Candidate: ['Approved', 'Rejected', 'Failed'],
  Approved: ['Production', 'Rejected', 'RolledBack', 'Failed'],
  Rejected: [],
  Production: ['Retired', 'RolledBack'],
  Retired: ['Production'],
  RolledBack: [],
  Failed: [],
};

export interface GuardrailDecision {
  approved: boolean;
  reasons: string[];
  decidedAt: string;
  forced?: { reason: string };
}

export interface ModelVersion {
  model: string;
  version: number;
  status: VersionStatus;
  createdAt: string;
  featureSchemaHash: string;
  dataManifestHash: string;
  /** The golden rows the version was evaluated on; absent on versions registered before it was recorded. */
  golden?: GoldenLineage;
  snapshotId: string;
  trainingJobName: string;
  trainingImage: string;
  instanceType: string;
  seed: number;
  codeSha256: string;
  /** Hash of the feature code that built the training matrices (and serves). */
  featureCodeSha256: string;
  hyperParameters: Record<string, string>;
  metrics: { validation: Metrics; golden?: Metrics; training?: Record<string, unknown> };
  /** The model definition (feature spec and settings) the version was trained with; serving uses it. */
  definition: ModelDefinition;
  artifacts: {
    modelJson: string;
    transform: string;
    baseline: string;
    modelTarball: string;
    evaluation: string;
    /** Raw validation and golden rows of the snapshot (JSONL), for scoring any model on the same rows. */
    evalRows?: string;
  };
  decision?: GuardrailDecision;
}

export interface CanaryState {
  version: number;
  /** Share of requests the canary serves, in [0, 1). */
  weight: number;
  startedAt: string;
}

export interface ShadowState {
  version: number;
  startedAt: string;
}

export interface ProductionAlias {
  model: string;
  current: number;
  /** A candidate serving a share of traffic while it bakes. */
  canary?: CanaryState;
  /** A candidate scoring a copy of production traffic without answering. */
  shadow?: ShadowState;
  /** Earlier production versions, most recent last: rollback pops from here. */
  history: number[];
  updatedAt: string;
  reason?: string;
  /**
   * When `current` went to production by a promotion; the start of its guard window. Absent when a
   * rollback restored it, and on aliases written before it was recorded.
   */
  promotedAt?: string;
  /** When a rollback restored `current` (absent after a promotion). */
  restoredAt?: string;
  /**
   * The status of every version a move of the alias has set (Production, Retired, RolledBack),
   * keyed by version number. It is written in the same conditional write as `current`, so the
   * version in production and its status never disagree; it wins over the version's own record.
   */
  statuses?: Record<string, VersionStatus>;
  /** How many times the alias has moved: each move's sequence number, and the condition of the next. */
  moves?: number;
}

/** A status a move of the production alias sets, with the reason the audit records. */
export interface StatusMove {
  version: number;
  to: VersionStatus;
  reason?: string;
}

/** Where a move of the production alias points it, and what the move records and sets. */
export interface AliasMove {
  /** The version production points at after the move. */
  current: number;
  /** Earlier production versions, most recent last (as the alias keeps them). */
  history: number[];
  reason?: string;
  /** A rollback's restore: the alias records `restoredAt` instead of `promotedAt`. */
  restored?: boolean;
  statuses?: readonly StatusMove[];
}

/** A guardrail decision as recorded: every check with its verdict, and where the full evidence is. */
export interface EvidenceRecord {
  model: string;
  version: number;
  decidedAt: string;
  approved: boolean;
  incumbent: number | null;
  checks: { name: string; passed: boolean; detail: string }[];
  reasons: string[];
  evidenceKey: string;
  forced?: { reason: string };
}

export interface AuditEvent {
  model: string;
  at: string;
  action: string;
  version?: number;
  detail: Record<string, unknown>;
}

/** Whether a version in status `from` may move to `to`. */
export function canTransition(from: VersionStatus, to: VersionStatus): boolean {
  return allowedTransitions[from].includes(to);
}

/** What the platform did on its own (or on an operator's word through the same entry). */
export type ActionKind = 'rollback' | 'retrain' | 'notify';

/**
 * The audit action of every rollback and retraining decision, whoever triggered it; the event's
 * `detail` is an {@link ActionRecord}.
 */
export const ACTION_AUDIT = 'Action';

/** An action's audit detail: what was decided, why, and what triggered it. */
export interface ActionRecord {
  kind: ActionKind;
  /**
   * `started`: a run began; `done`: the move was made; `refused`: another run holds the lease;
   * `skipped`: the policy does not act (e.g. outside the guard window); `paged`: nothing safe to do
   * automatically, a person is paged.
   */
  outcome: 'started' | 'done' | 'refused' | 'skipped' | 'paged';
  /** A sentence naming the cause (the alarm and its reason, the schedule, the operator's reason). */
  cause: string;
  trigger: 'alarm' | 'schedule' | 'operator';
  /** The alarm that triggered it. */
  alarm?: string;
  /** The state machine execution that acted. */
  execution?: string;
  /** What the policy concluded beyond the outcome: why it skipped or paged, who holds the lease. */
  note?: string;
  /** The production version the action concerned (a rollback's version in production when it decided). */
  from?: number;
  /** The version a rollback put back in production. */
  to?: number;
}

/** A per-model lease: while unexpired, only its holder may run what it guards (e.g. training). */
export interface Lease {
  model: string;
  /** What the lease guards (`training`). */
  name: string;
  /** Who holds it (a state machine execution). */
  holder: string;
  cause: string;
  since: string;
  /** After this instant the lease is free to take even if never released (its holder crashed). */
  until: string;
}
