/**
 * The HTML of the dashboard page and of a model's page. Everything that comes from the templates or
 * the registry is escaped here (or, on the dashboard, set as text by the page's script); the only
 * markup from the templates is a text widget's markdown, which markdown.ts renders from escaped text.
 */
import type { DriftReport } from '../../core/drift/types.ts';
import type { AuditEvent, EvidenceRecord, ModelVersion } from '../../core/registry/model.ts';
import { escapeHtml as e } from './markdown.ts';
import type { ModelPageData } from './models.ts';

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #16191f; }
  header { background: #232f3e; color: #fff; padding: 10px 16px; display: flex; gap: 16px; align-items: baseline; }
  header a { color: #9cd1ff; }
  header h1 { font-size: 18px; margin: 0; }
  main { padding: 12px; }
  .grid { display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: 44px; gap: 8px; }
  .widget { background: #fff; border: 1px solid #d5dbdb; border-radius: 4px; padding: 6px 8px; overflow: hidden; display: flex; flex-direction: column; min-width: 0; }
  .widget-title { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
  .widget-body { flex: 1; min-height: 0; position: relative; }
  .markdown h1 { font-size: 20px; margin: 2px 0; } .markdown h2 { font-size: 17px; margin: 2px 0; }
  .markdown p { margin: 2px 0; font-size: 13px; }
  .alarms { display: flex; flex-wrap: wrap; gap: 6px; }
  .alarm-cell { font-size: 12px; padding: 3px 8px; border-radius: 3px; border: 1px solid #aab7b8; }
  .alarm-cell[data-state="OK"] { background: #e9f5e9; border-color: #1d8102; }
  .alarm-cell[data-state="ALARM"] { background: #fde8e8; border-color: #d13212; font-weight: 600; }
  .alarm-cell[data-state="INSUFFICIENT_DATA"], .alarm-cell[data-state="UNKNOWN"] { background: #f2f3f3; }
  .state { font-family: monospace; margin-right: 4px; }
  .single-values { display: flex; gap: 24px; flex-wrap: wrap; }
  .single-value .number { font-size: 28px; font-weight: 600; }
  .single-value .label { font-size: 12px; color: #545b64; }
  .u-legend { font-size: 11px; line-height: 1.2; }
  .u-legend .u-series > * { padding: 1px 2px; }
  .empty { color: #879596; font-size: 12px; }
  table { border-collapse: collapse; background: #fff; font-size: 13px; margin-bottom: 12px; }
  th, td { border: 1px solid #d5dbdb; padding: 3px 8px; text-align: left; vertical-align: top; }
  section.panel { background: #fff; border: 1px solid #d5dbdb; border-radius: 4px; padding: 8px 12px; margin-bottom: 12px; }
  .passed { color: #1d8102; } .failed { color: #d13212; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; margin: 0; }
  dt { color: #545b64; } dd { margin: 0; font-family: monospace; word-break: break-all; }
`;

function layout(title: string, body: string, scripts: string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>${e(title)}</title>
<link rel="stylesheet" href="/dashboard/assets/uPlot.min.css">
<style>${STYLE}</style>
</head>
<body>
${body}
${scripts.map((s) => `<script src="${e(s)}"></script>`).join('\n')}
</body>
</html>
`;
}

/** The dashboard page: an empty grid the page's script fills from `/dashboard/data`. */
export function dashboardPage(dashboardId: string, models: readonly string[]): string {
  const links = models.map((m) => `<a href="/dashboard/models/${encodeURIComponent(m)}">${e(m)}</a>`);
  return layout(
    `Dashboard ${dashboardId}`,
    `<header><h1>${e(dashboardId)}</h1><span>local twin</span>${links.length ? `<nav>Models: ${links.join(' ')}</nav>` : ''}<span id="range"></span></header>
<main><div class="grid" id="grid" data-loaded="false"></div></main>`,
    ['/dashboard/assets/uPlot.iife.min.js', '/dashboard/assets/dashboard.js'],
  );
}

const fixed = (n: number | undefined, digits = 4) =>
  typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '-';

function versionRows(data: ModelPageData): string {
  return data.versions
    .map((v) => {
      const current = data.alias?.current === v.version;
      const decision = v.decision
        ? `${v.decision.approved ? 'approved' : 'refused'}${v.decision.forced ? ' (forced)' : ''}`
        : '';
      return `<tr data-version="${v.version}"><td><a href="#v${v.version}">v${v.version}</a>${current ? ' (production)' : ''}</td><td>${e(v.status)}</td><td>${fixed(v.metrics.validation.auc)}</td><td>${e(v.createdAt)}</td><td>${e(v.snapshotId)}</td><td>${e(decision)}</td></tr>`;
    })
    .join('\n');
}

function lineage(v: ModelVersion, bucket: string): string {
  const params = Object.entries(v.hyperParameters)
    .filter(([k]) => !k.startsWith('sagemaker_'))
    .map(([k, val]) => `${k}=${val}`)
    .join(' ');
  const rows: [string, string][] = [
    ['status', v.status],
    ['created', v.createdAt],
    ['data manifest', v.dataManifestHash],
    ['snapshot', v.snapshotId],
    ['feature schema', v.featureSchemaHash],
    ['training code', `sha256 ${v.codeSha256}`],
    ['feature code', `sha256 ${v.featureCodeSha256}`],
    ['image', v.trainingImage],
    ['instance type', v.instanceType],
    ['training job', v.trainingJobName],
    ['seed', String(v.seed)],
    ['hyperparameters', params],
    [
      'validation',
      `AUC ${fixed(v.metrics.validation.auc)}, log loss ${fixed(v.metrics.validation.logloss)}, accuracy ${fixed(v.metrics.validation.accuracy)} on ${v.metrics.validation.rows} rows`,
    ],
    ...(v.metrics.golden
      ? ([['golden', `AUC ${fixed(v.metrics.golden.auc)} on ${v.metrics.golden.rows} rows`]] as [
          string,
          string,
        ][])
      : []),
    ['features', v.definition.spec.features.map((f) => f.name).join(', ')],
    ...Object.entries(v.artifacts).map(([k, key]): [string, string] => [k, `s3://${bucket}/${key}`]),
  ];
  return `<dl class="lineage">${rows.map(([k, val]) => `<dt>${e(k)}</dt><dd>${e(val)}</dd>`).join('')}</dl>`;
}

function evidence(records: readonly EvidenceRecord[], bucket: string): string {
  if (records.length === 0) return '<p class="empty">No guardrail decision recorded.</p>';
  return records
    .map((r) => {
      const checks = r.checks
        .map(
          (c) =>
            `<tr><td class="${c.passed ? 'passed' : 'failed'}">${c.passed ? '✓ passed' : '✗ failed'}</td><td>${e(c.name)}</td><td>${e(c.detail)}</td></tr>`,
        )
        .join('');
      return `<div class="evidence" data-approved="${r.approved}"><p><strong>${r.approved ? 'approved' : 'refused'}</strong> at ${e(r.decidedAt)} against ${r.incumbent === null ? 'no incumbent' : `incumbent v${r.incumbent}`}${r.forced ? `, forced: ${e(r.forced.reason)}` : ''}; evidence file s3://${e(bucket)}/${e(r.evidenceKey)}</p>
<table><tr><th>verdict</th><th>check</th><th>detail</th></tr>${checks}</table></div>`;
    })
    .join('\n');
}

function auditRows(audit: readonly AuditEvent[]): string {
  return [...audit]
    .reverse()
    .map(
      (a) =>
        `<tr><td>${e(a.at)}</td><td>${e(a.action)}</td><td>${a.version === undefined ? '' : `v${a.version}`}</td><td><code>${e(JSON.stringify(a.detail))}</code></td></tr>`,
    )
    .join('\n');
}

/** The drift report's data for the per-feature chart, as JSON safe to put inside a script element. */
export function driftChartJson(report: DriftReport): string {
  const json = JSON.stringify({
    features: report.features.map((f) => ({ feature: f.feature, psi: f.psi, level: f.level })),
    thresholds: report.thresholds,
  });
  // `<` is escaped so that no `</script>` in a feature name can end the element.
  return json.replaceAll('<', '\\u003c');
}

function drift(data: ModelPageData): string {
  if (data.driftError) return `<p class="failed">${e(data.driftError)}</p>`;
  const r = data.drift;
  if (!r)
    return '<p class="empty" id="no-drift">No drift report yet: the drift job has not judged a window.</p>';
  const rows = r.features
    .map(
      (f) =>
        `<tr><td>${e(f.feature)}</td><td>${fixed(f.psi)}</td><td>${fixed(f.js)}</td><td>${fixed(f.ks)}</td><td>${fixed(f.nullRate, 3)} (baseline ${fixed(f.baselineNullRate, 3)})</td><td>${e(f.level)}</td></tr>`,
    )
    .join('\n');
  return `<p>v${r.version} (${e(r.route)}), window ${e(r.windowStart)} to ${e(r.windowEnd)}: ${r.samples} samples, ${e(r.status)}. ${e(r.message)}</p>
${r.prediction ? `<p>Scores: PSI ${fixed(r.prediction.psi)}, mean ${fixed(r.prediction.mean)} (baseline ${fixed(r.prediction.baselineMean)}), ${e(r.prediction.level)}</p>` : ''}
<div id="drift-chart" style="height:260px"></div>
<script type="application/json" id="drift-data">${driftChartJson(r)}</script>
<table><tr><th>feature</th><th>PSI</th><th>JS</th><th>KS</th><th>null rate</th><th>level</th></tr>${rows}</table>`;
}

/** A model's page, rendered on the server from what the registry and the lake hold. */
export function modelPage(data: ModelPageData): string {
  const a = data.alias;
  const production = a
    ? `v${a.current}${a.history.length ? `, rollback target v${a.history.at(-1)}` : ''}${a.canary ? `; canary v${a.canary.version} at ${Math.round(a.canary.weight * 100)}%` : ''}${a.shadow ? `; shadow v${a.shadow.version}` : ''} (since ${e(a.updatedAt)}${a.reason ? `: ${e(a.reason)}` : ''})`
    : 'no production version';
  const versions = data.versions
    .map(
      (v) => `<section class="panel version" id="v${v.version}"><h3>v${v.version}</h3>
<h4>Lineage</h4>${lineage(v, data.bucket)}
<h4>Promotion decisions</h4>${evidence(data.evidence[v.version] ?? [], data.bucket)}</section>`,
    )
    .join('\n');
  return layout(
    `Model ${data.model}`,
    `<header><h1>Model ${e(data.model)}</h1><a href="/dashboard">Dashboard</a></header>
<main>
<section class="panel"><h2>Status</h2><p id="production">Production: ${production}</p></section>
<section class="panel"><h2>Versions</h2>
<table id="versions"><tr><th>version</th><th>status</th><th>AUC</th><th>created</th><th>snapshot</th><th>decision</th></tr>
${versionRows(data)}</table></section>
<section class="panel"><h2>Latest drift report</h2>${drift(data)}</section>
${versions}
<section class="panel"><h2>Audit trail</h2>
<table id="audit"><tr><th>at</th><th>action</th><th>version</th><th>detail</th></tr>
${auditRows(data.audit)}</table></section>
</main>`,
    ['/dashboard/assets/uPlot.iife.min.js', '/dashboard/assets/model.js'],
  );
}

/** The models the template watches, each a link to its page. */
export function modelsPage(models: readonly string[]): string {
  const items = models.map(
    (m) => `<li><a href="/dashboard/models/${encodeURIComponent(m)}">${e(m)}</a></li>`,
  );
  return layout(
    'Models',
    `<header><h1>Models</h1><a href="/dashboard">Dashboard</a></header><main><ul id="models">${items.join('')}</ul></main>`,
    [],
  );
}

/** A page for an error a person sees: what was wrong. */
export function errorPage(title: string, message: string): string {
  return layout(
    title,
    `<header><h1>${e(title)}</h1><a href="/dashboard">Dashboard</a></header><main><p>${e(message)}</p></main>`,
    [],
  );
}
