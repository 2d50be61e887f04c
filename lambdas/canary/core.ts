/**
 * The canary steps of the promotion pipeline. `start` lets the candidate serve a share of traffic
 * beside production; after each bake, `check` compares the scores the canary served with the
 * incumbent's over the whole window so far (population stability index) and answers `healthy`,
 * `unhealthy`, or `bake` again when either side has too few predictions to judge (up to the
 * model's `maxBakes`); `abort` takes the canary out and marks the candidate RolledBack, so
 * production never stopped serving.
 */

import { psi, scoreHistogram } from '../../core/drift/statistics.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { nextStepWeight } from '../../core/policy/canary.ts';
import type { Clock, ModelRegistryPort } from '../../core/ports.ts';
import { isScored, type PredictionRecord } from '../../core/prediction-log.ts';
import { checkShadow, endShadow, startShadow } from './shadow.ts';

export interface CanaryInput {
  action: 'start' | 'check' | 'step' | 'abort' | 'shadow-start' | 'shadow-check' | 'shadow-end';
  model: string;
  version: number;
  /** For `start`: the production version the candidate was compared with. */
  expectedCurrent?: number | null;
  /** For `step`: the new share of traffic. */
  weight?: number;
  /** For `check`: bakes completed before this one. */
  bakes?: number;
  /** For `abort`: why. */
  reason?: string;
  /** For `shadow-end`: the shadow check's verdict and summary. */
  report?: { verdict?: string; summary?: string };
}

export interface CanaryCheck {
  /** `step`: healthy at this share; raise it to `nextWeight` and bake again. */
  verdict: 'healthy' | 'unhealthy' | 'bake' | 'step';
  nextWeight?: number;
  healthy: boolean;
  /** Bakes completed, this one included. */
  bakes: number;
  /** The reasons in one line: what an abort records and operators are told. */
  summary: string;
  canarySamples: number;
  incumbentSamples: number;
  scorePsi: number | null;
  /** Share of the canary's predictions that failed, once it served at least minSamples. */
  errorRate: number | null;
  latencyP95Ms: { canary: number; incumbent: number } | null;
  reasons: string[];
}

export interface CanaryDeps {
  registry: ModelRegistryPort;
  readWindow: (model: string, from: Date, to: Date) => Promise<PredictionRecord[]>;
  clock: Clock;
}

export async function runCanary(input: CanaryInput, deps: CanaryDeps): Promise<Record<string, unknown>> {
  if (input.action === 'shadow-start')
    return startShadow(input.model, input.version, input.expectedCurrent, deps);
  if (input.action === 'shadow-check')
    return { ...(await checkShadow(input.model, input.version, input.bakes ?? 0, deps)) };
  if (input.action === 'shadow-end') return endShadow(input.model, input.version, input.report ?? {}, deps);
  const candidate = await deps.registry.requireVersion(input.model, input.version);
  const settings = candidate.definition.promotion.canary;
  if (input.action === 'start') {
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
  if (input.action === 'step') {
    if (typeof input.weight !== 'number' || !(input.weight > 0 && input.weight < 1)) {
      throw new PlatformError(
        errorNames.invalidInput,
        `A canary step needs a weight in (0, 1), got ${input.weight}.`,
      );
    }
    const state = await deps.registry.setCanaryWeight(input.model, input.version, input.weight);
    return { ...state, bakeSeconds: settings.bakeSeconds, bakes: 0 };
  }
  if (input.action === 'abort') {
    const reason = input.reason ?? 'canary unhealthy';
    await deps.registry.endCanary(input.model, input.version, reason);
    await deps.registry.transition(input.model, input.version, 'RolledBack', { reason: `canary: ${reason}` });
    return { model: input.model, version: input.version, rolledBack: true };
  }
  const alias = await deps.registry.getAlias(input.model);
  if (alias?.canary?.version !== input.version) {
    throw new PlatformError(
      errorNames.aliasConflict,
      `Model "${input.model}" v${input.version} is not the running canary.`,
    );
  }
  const rows = (
    await deps.readWindow(input.model, new Date(alias.canary.startedAt), deps.clock.now())
  ).filter((r) => r.route !== 'shadow');
  const canaryRows = rows.filter((r) => r.modelVersion === input.version);
  const incumbentRows = rows.filter((r) => r.modelVersion === alias.current);
  const canary = canaryRows.filter(isScored).map((r) => r.score);
  const incumbent = incumbentRows.filter(isScored).map((r) => r.score);
  const bakes = (input.bakes ?? 0) + 1;
  const check: CanaryCheck = {
    verdict: 'healthy',
    healthy: true,
    bakes,
    canarySamples: canary.length,
    incumbentSamples: incumbent.length,
    scorePsi: null,
    errorRate: null,
    latencyP95Ms: null,
    reasons: [],
    summary: '',
  };
  // Errors need no comparison: once the canary has been asked often enough, too many failures end it.
  const failed = canaryRows.length - canary.length;
  if (canaryRows.length >= settings.minSamples) {
    check.errorRate = failed / canaryRows.length;
    if (check.errorRate > settings.maxErrorRate) {
      check.verdict = 'unhealthy';
      check.healthy = false;
      check.reasons.push(
        `v${input.version} failed ${failed} of ${canaryRows.length} predictions (${(check.errorRate * 100).toFixed(1)}% > max ${(settings.maxErrorRate * 100).toFixed(1)}%)`,
      );
      return { ...check, summary: check.reasons.join('; ') };
    }
  }
  if (canary.length < settings.minSamples || incumbent.length < settings.minSamples) {
    const counts = `canary ${canary.length}, incumbent ${incumbent.length}; at least ${settings.minSamples} each`;
    if (bakes < settings.maxBakes) {
      check.verdict = 'bake';
      check.reasons.push(
        `too few predictions to compare after bake ${bakes} of ${settings.maxBakes} (${counts}): baking again`,
      );
    } else if (settings.lowTraffic === 'rollback') {
      check.verdict = 'unhealthy';
      check.healthy = false;
      check.reasons.push(
        `too few predictions to compare after ${bakes} bakes (${counts}): lowTraffic is rollback`,
      );
    } else {
      check.reasons.push(
        `too few predictions to compare after ${bakes} bakes (${counts}): the canary is judged healthy on the offline evidence alone`,
      );
    }
    return { ...check, summary: check.reasons.join('; ') };
  }
  const canaryP95 = p95Latency(canaryRows);
  const incumbentP95 = p95Latency(incumbentRows);
  check.latencyP95Ms = { canary: canaryP95, incumbent: incumbentP95 };
  const latencyBound = incumbentP95 * settings.maxLatencyRatio + settings.latencySlackMs;
  if (canaryP95 > latencyBound) {
    check.verdict = 'unhealthy';
    check.healthy = false;
    check.reasons.push(
      `v${input.version} is slower: p95 latency ${canaryP95} ms > ${latencyBound.toFixed(0)} ms (v${alias.current}'s ${incumbentP95} ms x ${settings.maxLatencyRatio} + ${settings.latencySlackMs} ms)`,
    );
  }
  const value = psi(scoreHistogram(incumbent), scoreHistogram(canary));
  check.scorePsi = value;
  if (!(value <= settings.maxScorePsi)) {
    check.verdict = 'unhealthy';
    check.healthy = false;
    check.reasons.push(
      `served scores of v${input.version} drift from v${alias.current}'s: PSI ${value.toFixed(4)} > max ${settings.maxScorePsi.toFixed(4)} (${canary.length} vs ${incumbent.length} predictions)`,
    );
  } else {
    check.reasons.push(
      `served-score PSI ${value.toFixed(4)} <= max ${settings.maxScorePsi.toFixed(4)} (${canary.length} vs ${incumbent.length} predictions)`,
    );
  }
  if (check.verdict === 'healthy') {
    const next = nextStepWeight(settings.weight, settings.steps, alias.canary.weight);
    if (next !== undefined) {
      check.verdict = 'step';
      check.nextWeight = next;
      check.reasons.push(`healthy at ${pct(alias.canary.weight)} of traffic: stepping to ${pct(next)}`);
    }
  }
  return { ...check, summary: check.reasons.join('; ') };
}

const pct = (w: number) => `${(w * 100).toFixed(1)}%`;

/** The 95th percentile of request latency (one value per request, not per instance). */
function p95Latency(rows: readonly PredictionRecord[]): number {
  const byRequest = new Map<string, number>();
  for (const r of rows) byRequest.set(r.requestId, r.latencyMs);
  const sorted = [...byRequest.values()].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}
