/**
 * The shadow policy: how long a candidate scores a copy of production's requests, how closely it
 * must agree, and the report after each bake.
 */

import { psi, scoreHistogram } from '../drift/statistics.ts';
import type { ShadowSettings } from '../model/policies.ts';
import { isScored, type PredictionRecord, type ScoredRecord } from '../prediction-log.ts';

/** The report of one shadow check, as the promotion pipeline reads it and the registry records it. */
export interface ShadowReport {
  verdict: 'agree' | 'disagree' | 'bake';
  /** Bakes completed, this one included. */
  bakes: number;
  /** Instances both production and the shadow scored. */
  pairs: number;
  /** Instances of the shadow's copies it failed to score. */
  shadowErrors: number;
  /** Share of paired instances with the same label; null with no pairs. */
  agreement: number | null;
  meanAbsScoreDiff: number | null;
  maxAbsScoreDiff: number | null;
  scorePsi: number | null;
  summary: string;
}

/** What a shadow check is judged on: the rows both versions logged over the shadow's window. */
export interface ShadowEvidence {
  /** Production's version and the rows of the requests it answered. */
  production: { version: number; rows: readonly PredictionRecord[] };
  /** The shadow's version and the rows of its copies of those requests. */
  shadow: { version: number; rows: readonly PredictionRecord[] };
  /** Bakes completed before this one. */
  bakesBefore: number;
}

/**
 * Splits the prediction-log rows of the shadow's window: production's rows (answered by the
 * production version) and the shadow's (its copies, route `shadow`).
 */
export function shadowRows(
  rows: readonly PredictionRecord[],
  versions: { production: number; shadow: number },
): { production: PredictionRecord[]; shadow: PredictionRecord[] } {
  return {
    production: rows.filter((r) => r.modelVersion === versions.production && r.route !== 'shadow'),
    shadow: rows.filter((r) => r.modelVersion === versions.shadow && r.route === 'shadow'),
  };
}

const instanceKey = (r: PredictionRecord) => `${r.requestId}#${r.index}`;

/** Each instance the shadow scored, with production's scored row for the same request and index. */
export function pairShadowRows(
  production: readonly PredictionRecord[],
  shadow: readonly PredictionRecord[],
): { p: ScoredRecord; s: ScoredRecord }[] {
  const byInstance = new Map(production.filter(isScored).map((r) => [instanceKey(r), r]));
  return shadow.filter(isScored).flatMap((s) => {
    const p = byInstance.get(instanceKey(s));
    return p ? [{ p, s }] : [];
  });
}

/**
 * Judges a shadow after a bake. With fewer than `minSamples` pairs it bakes again, up to
 * `maxBakes`; after that there is no agreement to judge, which is a disagreement unless
 * `minAgreement` is 0 (report only). With enough pairs it disagrees exactly when the share of
 * pairs given the same label is below `minAgreement`; the score differences, their PSI and the
 * shadow's errors are reported either way.
 */
export function judgeShadow(settings: ShadowSettings, evidence: ShadowEvidence): ShadowReport {
  const pairs = pairShadowRows(evidence.production.rows, evidence.shadow.rows);
  const shadowErrors = evidence.shadow.rows.filter((r) => !isScored(r)).length;
  const bakes = evidence.bakesBefore + 1;
  const report: ShadowReport = {
    verdict: 'agree',
    bakes,
    pairs: pairs.length,
    shadowErrors,
    agreement: null,
    meanAbsScoreDiff: null,
    maxAbsScoreDiff: null,
    scorePsi: null,
    summary: '',
  };
  if (pairs.length < settings.minSamples) {
    if (bakes < settings.maxBakes) {
      report.verdict = 'bake';
      report.summary = `${pairs.length} paired predictions after shadow bake ${bakes} of ${settings.maxBakes} (at least ${settings.minSamples}): baking again`;
      return report;
    }
    report.summary = `only ${pairs.length} paired predictions after ${bakes} shadow bakes (at least ${settings.minSamples}): no agreement to judge`;
    if (settings.minAgreement > 0) report.verdict = 'disagree';
    return report;
  }
  const diffs = pairs.map(({ p, s }) => Math.abs(p.score - s.score));
  const agreement = pairs.filter(({ p, s }) => p.label === s.label).length / pairs.length;
  const meanAbsScoreDiff = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  // Spreading a busy window's differences into Math.max would overflow the call stack.
  const maxAbsScoreDiff = diffs.reduce((a, b) => Math.max(a, b), 0);
  const scorePsi = psi(
    scoreHistogram(pairs.map(({ p }) => p.score)),
    scoreHistogram(pairs.map(({ s }) => s.score)),
  );
  const figures = `labels agree on ${(agreement * 100).toFixed(1)}% of ${pairs.length} predictions, mean score difference ${meanAbsScoreDiff.toFixed(4)} (max ${maxAbsScoreDiff.toFixed(4)}), score PSI ${scorePsi.toFixed(4)}, ${shadowErrors} shadow error(s)`;
  const versions = `shadow v${evidence.shadow.version} vs production v${evidence.production.version}`;
  const disagrees = agreement < settings.minAgreement;
  return {
    ...report,
    verdict: disagrees ? 'disagree' : 'agree',
    agreement,
    meanAbsScoreDiff,
    maxAbsScoreDiff,
    scorePsi,
    summary: disagrees
      ? `${versions}: ${figures}; below min agreement ${(settings.minAgreement * 100).toFixed(1)}%`
      : `${versions}: ${figures}`,
  };
}
