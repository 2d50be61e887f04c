/**
 * The canary policy: how a candidate serves a share of traffic beside production before it takes
 * all of it, the linear path its share follows, and the verdict after each bake.
 */

import { psi, scoreHistogram } from '../drift/statistics.ts';
import type { CanarySettings } from '../model/policies.ts';
import { isScored, type PredictionRecord } from '../prediction-log.ts';

/**
 * The share after `current` on the linear path from `weight` to 100% in `steps` steps
 * (weight + (1 - weight) * k / steps, k = 0 .. steps - 1); undefined after the last step.
 */
export function nextStepWeight(weight: number, steps: number, current: number): number | undefined {
  const k = Math.round(((current - weight) / (1 - weight)) * steps);
  if (k + 1 >= steps) return undefined;
  return Math.round((weight + ((1 - weight) * (k + 1)) / steps) * 1e6) / 1e6;
}

/** What one version served over the canary's window, reduced to what a canary is judged on. */
export interface ServedSample {
  /** The scores of the instances it scored. */
  scores: number[];
  /** Instances it failed to score. */
  failures: number;
  /** One latency per request (the last row logged for it), in milliseconds. */
  requestLatenciesMs: number[];
}

/**
 * Reduces one version's prediction-log rows (one row per instance, scored or failed) to its sample.
 * Latency is per request, not per instance: the instances of one request share one call.
 */
export function servedSample(rows: readonly PredictionRecord[]): ServedSample {
  const byRequest = new Map<string, number>();
  const scores: number[] = [];
  for (const r of rows) {
    byRequest.set(r.requestId, r.latencyMs);
    if (isScored(r)) scores.push(r.score);
  }
  return { scores, failures: rows.length - scores.length, requestLatenciesMs: [...byRequest.values()] };
}

/**
 * The canary's and the incumbent's samples from the prediction-log rows of the canary's window.
 * A shadow's rows answered nobody, so they count for neither side.
 */
export function servedSamples(
  rows: readonly PredictionRecord[],
  versions: { canary: number; incumbent: number },
): { canary: ServedSample; incumbent: ServedSample } {
  const answered = rows.filter((r) => r.route !== 'shadow');
  return {
    canary: servedSample(answered.filter((r) => r.modelVersion === versions.canary)),
    incumbent: servedSample(answered.filter((r) => r.modelVersion === versions.incumbent)),
  };
}

/** The 95th percentile by nearest rank (the smallest value at or above 95% of them); 0 for none. */
export function p95(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

/** What a canary check is judged on. */
export interface CanaryEvidence {
  /** The candidate serving a share of traffic: its version, that share, and what it served. */
  canary: { version: number; weight: number; sample: ServedSample };
  /** Production beside it, over the same window. */
  incumbent: { version: number; sample: ServedSample };
  /** Bakes completed before this one. */
  bakesBefore: number;
}

/** The verdict of one canary check, as the promotion pipeline reads it. */
export interface CanaryCheck {
  /** `step`: healthy at this share; raise it to `nextWeight` and bake again. */
  verdict: 'healthy' | 'unhealthy' | 'bake' | 'step';
  nextWeight?: number;
  /** False exactly when the verdict is `unhealthy`. */
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

const pct = (w: number) => `${(w * 100).toFixed(1)}%`;

/**
 * Judges a canary after a bake, in this order: too many failures end it as soon as it was asked
 * `minSamples` times (failures need no comparison); with fewer than `minSamples` scores on either
 * side it bakes again, up to `maxBakes`, then `lowTraffic` decides; otherwise it is unhealthy when
 * its p95 latency or its score PSI against the incumbent exceeds its bound (a PSI that is not a
 * number fails), and healthy ones step up the linear path until the last step.
 */
export function judgeCanary(settings: CanarySettings, evidence: CanaryEvidence): CanaryCheck {
  const { canary, incumbent } = evidence;
  const scores = canary.sample.scores;
  const incumbentScores = incumbent.sample.scores;
  const check: CanaryCheck = {
    verdict: 'healthy',
    healthy: true,
    bakes: evidence.bakesBefore + 1,
    canarySamples: scores.length,
    incumbentSamples: incumbentScores.length,
    scorePsi: null,
    errorRate: null,
    latencyP95Ms: null,
    reasons: [],
    summary: '',
  };
  const unhealthy = (reason: string) => {
    check.verdict = 'unhealthy';
    check.healthy = false;
    check.reasons.push(reason);
  };
  const done = (): CanaryCheck => ({ ...check, summary: check.reasons.join('; ') });

  const failed = canary.sample.failures;
  const instances = scores.length + failed;
  if (instances >= settings.minSamples) {
    check.errorRate = failed / instances;
    if (check.errorRate > settings.maxErrorRate) {
      unhealthy(
        `v${canary.version} failed ${failed} of ${instances} predictions (${(check.errorRate * 100).toFixed(1)}% > max ${(settings.maxErrorRate * 100).toFixed(1)}%)`,
      );
      return done();
    }
  }

  if (scores.length < settings.minSamples || incumbentScores.length < settings.minSamples) {
    const counts = `canary ${scores.length}, incumbent ${incumbentScores.length}; at least ${settings.minSamples} each`;
    if (check.bakes < settings.maxBakes) {
      check.verdict = 'bake';
      check.reasons.push(
        `too few predictions to compare after bake ${check.bakes} of ${settings.maxBakes} (${counts}): baking again`,
      );
    } else if (settings.lowTraffic === 'rollback') {
      unhealthy(
        `too few predictions to compare after ${check.bakes} bakes (${counts}): lowTraffic is rollback`,
      );
    } else {
      check.reasons.push(
        `too few predictions to compare after ${check.bakes} bakes (${counts}): the canary is judged healthy on the offline evidence alone`,
      );
    }
    return done();
  }

  const canaryP95 = p95(canary.sample.requestLatenciesMs);
  const incumbentP95 = p95(incumbent.sample.requestLatenciesMs);
  check.latencyP95Ms = { canary: canaryP95, incumbent: incumbentP95 };
  const latencyBound = incumbentP95 * settings.maxLatencyRatio + settings.latencySlackMs;
  if (canaryP95 > latencyBound) {
    unhealthy(
      `v${canary.version} is slower: p95 latency ${canaryP95} ms > ${latencyBound.toFixed(0)} ms (v${incumbent.version}'s ${incumbentP95} ms x ${settings.maxLatencyRatio} + ${settings.latencySlackMs} ms)`,
    );
  }

  const value = psi(scoreHistogram(incumbentScores), scoreHistogram(scores));
  check.scorePsi = value;
  const volumes = `(${scores.length} vs ${incumbentScores.length} predictions)`;
  if (!(value <= settings.maxScorePsi)) {
    unhealthy(
      `served scores of v${canary.version} drift from v${incumbent.version}'s: PSI ${value.toFixed(4)} > max ${settings.maxScorePsi.toFixed(4)} ${volumes}`,
    );
  } else {
    check.reasons.push(
      `served-score PSI ${value.toFixed(4)} <= max ${settings.maxScorePsi.toFixed(4)} ${volumes}`,
    );
  }

  if (check.verdict === 'healthy') {
    const next = nextStepWeight(settings.weight, settings.steps, canary.weight);
    if (next !== undefined) {
      check.verdict = 'step';
      check.nextWeight = next;
      check.reasons.push(`healthy at ${pct(canary.weight)} of traffic: stepping to ${pct(next)}`);
    }
  }
  return done();
}
