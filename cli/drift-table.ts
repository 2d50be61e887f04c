/**
 * How `mlops drift` shows what the drift job found for a model: a table per report (production's,
 * then a canary's or shadow's), one row per feature, then the served scores' line; and the JSON it
 * prints with `--json`. Pure functions of the job's result, so the tests check them without a job.
 */
import type { DriftJobResult, DriftLevel, DriftReport, FeatureDriftResult } from '../core/drift/types.ts';
import { bold, dim, green, red, table, yellow } from './print.ts';

/** A drift level, colored as the alarms are: alarm red, warn yellow, ok green. */
export function paintLevel(level: DriftLevel): string {
  return level === 'alarm' ? red(level) : level === 'warn' ? yellow(level) : green(level);
}

const fixed = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
const signed = (n: number, digits = 3) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

function featureRow(f: FeatureDriftResult): string[] {
  return [
    f.feature,
    f.type,
    fixed(f.psi),
    fixed(f.js),
    fixed(f.ks),
    `${pct(f.nullRate)} (${pct(f.baselineNullRate)})`,
    f.unseenShare === undefined ? dim('-') : pct(f.unseenShare),
    paintLevel(f.level),
  ];
}

/** One report: its window and samples, then the feature table and the prediction line when judged. */
export function formatDriftReport(r: DriftReport): string {
  const head = `${bold(`${r.model} v${r.version}`)} ${r.route}, window ${r.windowStart} → ${r.windowEnd}: ${r.samples} samples (min ${r.minSamples})`;
  if (r.status !== 'judged') return `${head}\n  ${yellow(r.message)}`;
  const lines = [`${head}${r.summary ? `, level ${paintLevel(r.summary.level)}` : ''}`];
  lines.push(
    table(
      [
        ['FEATURE', 'TYPE', 'PSI', 'JS', 'KS', 'NULL RATE (BASELINE)', 'UNSEEN', 'LEVEL'],
        ...[...r.features].sort((a, b) => b.psi - a.psi).map(featureRow),
      ],
      '  ',
    ),
  );
  const p = r.prediction;
  if (p) {
    lines.push(
      `  prediction: PSI ${fixed(p.psi)}, JS ${fixed(p.js)}, KS ${fixed(p.ks)}, mean ${fixed(p.mean)} vs ${fixed(p.baselineMean)} (shift ${signed(p.meanShift)}), ${paintLevel(p.level)}`,
    );
  }
  lines.push(
    dim(
      `  thresholds: PSI warn ${r.thresholds.psiWarn}, alarm ${r.thresholds.psiAlarm}; null-rate rise alarm ${pct(r.thresholds.nullRateIncreaseAlarm)}. Report: ${r.reportKey}`,
    ),
  );
  if (r.message) lines.push(dim(`  ${r.message}`));
  return lines.join('\n');
}

/** A model's result: production's report, or the job's message when it has none, then the variants'. */
export function formatDriftResult(result: DriftJobResult): string {
  const parts = [
    result.report ? formatDriftReport(result.report) : `${bold(result.model)}: ${yellow(result.message)}`,
  ];
  for (const v of result.variants) parts.push(formatDriftReport(v));
  return parts.join('\n\n');
}

/** What nothing-judged looks like in `--json`: the model, why, and the counts when there are any. */
export interface DriftNotJudged {
  model: string;
  status: DriftJobResult['status'];
  message: string;
  version?: number;
  samples?: number;
  minSamples?: number;
  variants: DriftReport[];
}

/**
 * `mlops drift --json`: production's report when it was judged (with the variants' reports beside it),
 * else `{model, status, message}` with the counts the job had.
 */
export function driftJson(
  result: DriftJobResult,
): (DriftReport & { variants: DriftReport[] }) | DriftNotJudged {
  const r = result.report;
  if (r && r.status === 'judged') return { ...r, variants: result.variants };
  return {
    model: result.model,
    status: r ? r.status : result.status,
    message: r?.message || result.message,
    ...(r ? { version: r.version, samples: r.samples, minSamples: r.minSamples } : {}),
    variants: result.variants,
  };
}
