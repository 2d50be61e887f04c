/**
 * The canary steps of the promotion pipeline. `start` lets the candidate serve a share of traffic
 * beside production; after each bake, `check` judges what the canary served against the
 * incumbent over the whole window so far (`judgeCanary`: errors, latency, served-score PSI) and
 * answers `healthy`, `step` (raise the share and bake again), `unhealthy`, or `bake` again when
 * either side has too few predictions to judge (up to the model's `maxBakes`); `abort` takes the
 * canary out and marks the candidate RolledBack, so production never stopped serving. The shadow
 * actions run the stage before it (`shadow.ts`).
 */

import { errorNames, PlatformError } from '../../core/errors.ts';
import { type CanaryCheck, judgeCanary, servedSamples } from '../../core/policy/canary.ts';
import type { ShadowReport } from '../../core/policy/shadow.ts';
import type { Clock, ModelRegistryPort, PredictionWindowReader } from '../../core/ports.ts';
import type { CanaryState } from '../../core/registry/model.ts';
import {
  checkShadow,
  endShadow,
  type ShadowEnded,
  type ShadowEndReport,
  type ShadowStarted,
  startShadow,
} from './shadow.ts';

/** One invocation from the promotion pipeline; which fields it carries depends on `action`. */
export interface CanaryInput {
  action: 'start' | 'check' | 'step' | 'abort' | 'shadow-start' | 'shadow-check' | 'shadow-end';
  model: string;
  version: number;
  /** For `start` and `shadow-start`: the production version the candidate was compared with. */
  expectedCurrent?: number | null;
  /** For `step`: the new share of traffic. */
  weight?: number;
  /** For `check` and `shadow-check`: bakes completed before this one. */
  bakes?: number;
  /** For `abort`: why. */
  reason?: string;
  /** For `shadow-end`: the shadow check's report (its verdict and summary decide). */
  report?: ShadowEndReport;
}

/** The pipeline's canary and shadow actions. */
export type CanaryAction = CanaryInput['action'];

/** What `start` and `step` return: the canary as it now runs, how long it bakes, and a fresh bake count. */
export type CanaryStarted = CanaryState & { bakeSeconds: number; bakes: 0 };

/** What `abort` returns once the canary is out and the candidate RolledBack. */
export interface CanaryAborted {
  model: string;
  version: number;
  rolledBack: true;
}

/** The result of each action, as the promotion pipeline reads it. */
export interface CanaryResults {
  start: CanaryStarted;
  step: CanaryStarted;
  check: CanaryCheck;
  abort: CanaryAborted;
  'shadow-start': ShadowStarted;
  'shadow-check': ShadowReport;
  'shadow-end': ShadowEnded;
}

/** The result of one action (of any action when `A` is the whole union). */
export type CanaryResult<A extends CanaryAction = CanaryAction> = CanaryResults[A];

/** The ports the canary and shadow actions use. */
export interface CanaryDeps {
  registry: Pick<
    ModelRegistryPort,
    | 'requireVersion'
    | 'getAlias'
    | 'startCanary'
    | 'setCanaryWeight'
    | 'endCanary'
    | 'startShadow'
    | 'endShadow'
    | 'transition'
  >;
  readWindow: PredictionWindowReader;
  clock: Clock;
}

type Actions = { [A in CanaryAction]: (input: CanaryInput, deps: CanaryDeps) => Promise<CanaryResults[A]> };

const actions: Actions = {
  start: startCanary,
  step: stepCanary,
  check: checkCanary,
  abort: abortCanary,
  'shadow-start': startShadow,
  'shadow-check': checkShadow,
  'shadow-end': endShadow,
};

/** Runs one canary or shadow action of the promotion pipeline. */
export async function runCanary<A extends CanaryAction>(
  input: CanaryInput & { action: A },
  deps: CanaryDeps,
): Promise<CanaryResults[A]> {
  if (!Object.hasOwn(actions, input.action)) {
    throw new PlatformError(
      errorNames.invalidInput,
      `Unknown canary action "${String(input.action)}": expected one of ${Object.keys(actions).join(', ')}.`,
    );
  }
  const run: Actions[A] = actions[input.action];
  return run(input, deps);
}

async function startCanary(input: CanaryInput, deps: CanaryDeps): Promise<CanaryStarted> {
  const candidate = await deps.registry.requireVersion(input.model, input.version);
  const settings = candidate.definition.promotion.canary;
  if (input.expectedCurrent === null || input.expectedCurrent === undefined) {
    throw new PlatformError(
      errorNames.invalidInput,
      `Model "${input.model}" has no production version for a canary to run beside.`,
    );
  }
  const state = await deps.registry.startCanary(input.model, input.expectedCurrent, {
    version: input.version,
    weight: settings.weight,
  });
  return { ...state, bakeSeconds: settings.bakeSeconds, bakes: 0 };
}

async function stepCanary(input: CanaryInput, deps: CanaryDeps): Promise<CanaryStarted> {
  const candidate = await deps.registry.requireVersion(input.model, input.version);
  if (typeof input.weight !== 'number' || !(input.weight > 0 && input.weight < 1)) {
    throw new PlatformError(
      errorNames.invalidInput,
      `A canary step needs a weight in (0, 1), got ${input.weight}.`,
    );
  }
  const state = await deps.registry.setCanaryWeight(input.model, input.version, input.weight);
  return { ...state, bakeSeconds: candidate.definition.promotion.canary.bakeSeconds, bakes: 0 };
}

async function abortCanary(input: CanaryInput, deps: CanaryDeps): Promise<CanaryAborted> {
  // The candidate must exist before its canary is ended and its status moved.
  await deps.registry.requireVersion(input.model, input.version);
  const reason = input.reason ?? 'canary unhealthy';
  await deps.registry.endCanary(input.model, input.version, reason);
  await deps.registry.transition(input.model, input.version, 'RolledBack', { reason: `canary: ${reason}` });
  return { model: input.model, version: input.version, rolledBack: true };
}

async function checkCanary(input: CanaryInput, deps: CanaryDeps): Promise<CanaryCheck> {
  const candidate = await deps.registry.requireVersion(input.model, input.version);
  const alias = await deps.registry.getAlias(input.model);
  if (alias?.canary?.version !== input.version) {
    throw new PlatformError(
      errorNames.aliasConflict,
      `Model "${input.model}" v${input.version} is not the running canary.`,
    );
  }
  const window = await deps.readWindow(input.model, new Date(alias.canary.startedAt), deps.clock.now());
  const samples = servedSamples(window, { canary: input.version, incumbent: alias.current });
  return judgeCanary(candidate.definition.promotion.canary, {
    canary: { version: input.version, weight: alias.canary.weight, sample: samples.canary },
    incumbent: { version: alias.current, sample: samples.incumbent },
    bakesBefore: input.bakes ?? 0,
  });
}
