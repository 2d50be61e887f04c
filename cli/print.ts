/** Terminal output helpers for the operator CLI. */
import type { ModelVersion, ProductionAlias } from '../core/registry/model.ts';

/** The colors of output that goes where `on` says colors belong; without color, each returns its text. */
export function palette(on: boolean) {
  const paint = (code: number) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { bold: paint(1), dim: paint(2), green: paint(32), red: paint(31), yellow: paint(33) };
}

export const { bold, dim, green, red, yellow } = palette(
  Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
);

export function step(title: string): void {
  console.log(`\n${bold('▸')} ${bold(title)}`);
}

export function info(line: string): void {
  console.log(`  ${line}`);
}

export function ok(line: string): void {
  console.log(`  ${green('✓')} ${line}`);
}

export function fail(line: string): void {
  console.error(`  ${red('✗')} ${line}`);
}

/** The text of a cell as the terminal shows it: without its color codes. */
export function visible(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape starts every color code
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}

/**
 * Rows as aligned columns, two spaces apart, the first row being the header; colored cells are
 * padded by the width they show, not by their length.
 */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...rows.map((r) => visible(r[i] ?? '').length)),
  );
  return rows
    .map(
      (r) =>
        indent +
        r
          .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visible(c).length)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** An instant as `2026-12-01 17:10:03` (UTC) followed by how long ago it was, for a person. */
export function when(iso: string | undefined, now: Date): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().replace('T', ' ').slice(0, 19)} (${ago(now.getTime() - t)})`;
}

/** A duration as `42s ago`, `5m ago`, `3h ago`, `2d ago`; a future one as `in 5m`. */
export function ago(ms: number): string {
  const abs = Math.abs(ms);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3600_000
        ? `${Math.floor(abs / 60_000)}m`
        : abs < 86_400_000
          ? `${Math.floor(abs / 3600_000)}h${Math.floor((abs % 3600_000) / 60_000) ? ` ${Math.floor((abs % 3600_000) / 60_000)}m` : ''}`
          : `${Math.floor(abs / 86_400_000)}d`;
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

export function formatMetrics(m: ModelVersion['metrics']['validation']): string {
  return `AUC ${m.auc.toFixed(4)}, log loss ${m.logloss.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)} on ${m.rows} validation rows`;
}

export function versionTable(versions: ModelVersion[], alias: ProductionAlias | undefined): string {
  const rows = [['VERSION', 'STATUS', 'AUC', 'CREATED', 'SNAPSHOT', 'DECISION']];
  for (const v of [...versions].sort((a, b) => a.version - b.version)) {
    rows.push([
      `v${v.version}${alias?.current === v.version ? ' *' : ''}`,
      v.status,
      v.metrics.validation.auc.toFixed(4),
      v.createdAt.replace('T', ' ').slice(0, 19),
      v.snapshotId,
      v.decision
        ? `${v.decision.approved ? 'approved' : 'refused'}${v.decision.forced ? ' (forced)' : ''}: ${v.decision.reasons[0] ?? ''}`
        : '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function goldenSource(g: NonNullable<ModelVersion['golden']>): string {
  return g.source === 'golden-set'
    ? `${g.goldenId} (${g.rows} rows, sha256 ${g.sha256})`
    : `none: ${Math.round(g.fraction * 100)}% of the raw rows held out by the split`;
}

export function lineage(v: ModelVersion, bucket: string): string {
  const lines = [
    `model          ${v.model}`,
    `version        ${v.version}`,
    `status         ${v.status}`,
    `created        ${v.createdAt}`,
    `data manifest  ${v.dataManifestHash}`,
    ...(v.golden ? [`golden set     ${goldenSource(v.golden)}`] : []),
    `snapshot       ${v.snapshotId}`,
    `feature schema ${v.featureSchemaHash}`,
    `training code  sha256 ${v.codeSha256}`,
    `feature code   sha256 ${v.featureCodeSha256}`,
    `image          ${v.trainingImage}`,
    `instance type  ${v.instanceType}`,
    `training job   ${v.trainingJobName}`,
    `seed           ${v.seed}`,
    `hyperparams    ${Object.entries(v.hyperParameters)
      .filter(([k]) => !k.startsWith('sagemaker_'))
      .map(([k, val]) => `${k}=${val}`)
      .join(' ')}`,
    `metrics        ${formatMetrics(v.metrics.validation)}`,
    ...(v.metrics.golden
      ? [`golden         ${formatMetrics(v.metrics.golden).replace('validation rows', 'golden rows')}`]
      : []),
    `features       ${v.definition.spec.features.map((f) => f.name).join(', ')}`,
    'artifacts',
    ...Object.entries(v.artifacts).map(([k, val]) => `  ${k.padEnd(12)} s3://${bucket}/${val}`),
  ];
  if (v.decision) {
    lines.push(
      `decision       ${v.decision.approved ? 'approved' : 'refused'} at ${v.decision.decidedAt}${v.decision.forced ? ` (forced: ${v.decision.forced.reason})` : ''}`,
    );
    for (const r of v.decision.reasons) lines.push(`  - ${r}`);
  }
  return lines.join('\n');
}
