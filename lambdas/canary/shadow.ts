/**
 * The shadow stage of the promotion pipeline: the candidate scores a copy of production's requests
 * without answering them (the predict function logs its scores with the route `shadow`), and the
 * agreement with production on the same requests is reported: the share of instances given the
 * same label, the mean and largest score difference, and the PSI between the two score
 * distributions. Below the model's `minAgreement` the candidate is rolled back before it answers
 * anyone.
 */

import { psi, scoreHistogram } from '../../core/drift/statistics.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { Clock, ModelRegistryPort } from '../../core/ports.ts';
import { isScored, type PredictionRecord } from '../../core/prediction-log.ts';

export interface ShadowReport {
  verdict: 'agree' | 'disagree' | 'bake';
  bakes: number;
  /** Instances both production and the shadow scored. */
  pairs: number;
  shadowErrors: number;
  /** Share of paired instances with the same label; null with no pairs. */
  agreement: number | null;
  meanAbsScoreDiff: number | null;
  maxAbsScoreDiff: number | null;
  scorePsi: number | null;
  summary: string;
}

export interface ShadowDeps {
  registry: Pick<
    ModelRegistryPort,
    'requireVersion' | 'getAlias' | 'startShadow' | 'endShadow' | 'transition'
  >;
  readWindow: (model: string, from: Date, to: Date) => Promise<PredictionRecord[]>;
  clock: Clock;
}

export async function startShadow(
  model: string,
  version: number,
  expectedCurrent: number | null | undefined,
  deps: ShadowDeps,
): Promise<Record<string, unknown>> {
  if (expectedCurrent === null || expectedCurrent === undefined) {
    throw new PlatformError(errorNames.invalidInput, `Model "${model}" has no production version to shadow.`);
  }
  const candidate = await deps.registry.requireVersion(model, version);
  const state = await deps.registry.startShadow(model, expectedCurrent, version);
  return { ...state, bakeSeconds: candidate.definition.promotion.shadow.bakeSeconds, bakes: 0 };
}

export async function checkShadow(
  model: string,
  version: number,
  bakesBefore: number,
  deps: ShadowDeps,
): Promise<ShadowReport> {
  const candidate = await deps.registry.requireVersion(model, version);
  const settings = candidate.definition.promotion.shadow;
  const alias = await deps.registry.getAlias(model);
  if (alias?.shadow?.version !== version) {
    throw new PlatformError(
      errorNames.aliasConflict,
      `Model "${model}" v${version} is not the running shadow.`,
    );
  }
  const rows = await deps.readWindow(model, new Date(alias.shadow.startedAt), deps.clock.now());
  const key = (r: PredictionRecord) => `${r.requestId}#${r.index}`;
  const production = new Map(
    rows
      .filter(isScored)
      .filter((r) => r.modelVersion === alias.current && r.route !== 'shadow')
      .map((r) => [key(r), r]),
  );
  const shadowRows = rows.filter((r) => r.modelVersion === version && r.route === 'shadow');
  const shadowErrors = shadowRows.filter((r) => !isScored(r)).length;
  const pairs = shadowRows.filter(isScored).flatMap((s) => {
    const p = production.get(key(s));
    return p ? [{ p, s }] : [];
  });
  const bakes = bakesBefore + 1;
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
  report.agreement = pairs.filter(({ p, s }) => p.label === s.label).length / pairs.length;
  report.meanAbsScoreDiff = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  report.maxAbsScoreDiff = Math.max(...diffs);
  report.scorePsi = psi(
    scoreHistogram(pairs.map(({ p }) => p.score)),
    scoreHistogram(pairs.map(({ s }) => s.score)),
  );
  const figures = `labels agree on ${(report.agreement * 100).toFixed(1)}% of ${pairs.length} predictions, mean score difference ${report.meanAbsScoreDiff.toFixed(4)} (max ${report.maxAbsScoreDiff.toFixed(4)}), score PSI ${report.scorePsi.toFixed(4)}, ${shadowErrors} shadow error(s)`;
  if (report.agreement < settings.minAgreement) {
    report.verdict = 'disagree';
    report.summary = `shadow v${version} vs production v${alias.current}: ${figures}; below min agreement ${(settings.minAgreement * 100).toFixed(1)}%`;
  } else {
    report.summary = `shadow v${version} vs production v${alias.current}: ${figures}`;
  }
  return report;
}

export async function endShadow(
  model: string,
  version: number,
  report: { verdict?: string; summary?: string },
  deps: ShadowDeps,
): Promise<Record<string, unknown>> {
  await deps.registry.endShadow(model, version, { ...report });
  const passed = report.verdict === 'agree';
  if (!passed) {
    await deps.registry.transition(model, version, 'RolledBack', {
      reason: `shadow: ${report.summary ?? 'the shadow check failed'}`,
    });
  }
  return { model, version, passed };
}
