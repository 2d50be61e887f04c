/** The operator CLI's verbs, each working against a Target (the twin or a deployed stage). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { lakeKeys } from '../contracts/lake.ts';
import type { MachineKind } from '../contracts/outputs.ts';
import type { ExecutionEvent } from '../contracts/twin-api.ts';
import { CsvFormatError, parseCsv } from '../core/features/csv.ts';
import { validateRow } from '../core/features/transform.ts';
import type { RawPointer } from '../core/lake.ts';
import type { ModelDefinition } from '../core/model/definition.ts';
import type { ModelVersion } from '../core/registry/model.ts';
import type { PrepareOutput } from '../core/training-run.ts';
import { bold, dim, formatMetrics, info, lineage, ok, red, versionTable, yellow } from './print.ts';
import type { ExecutionResult, Target } from './target.ts';

/** An error the CLI prints as a one-line message (no stack) before exiting non-zero. */
export class CliError extends Error {
  override name = 'CliError';
}

export interface IngestResult {
  key: string;
  rows: number;
  invalid: number;
  sha256: string;
}

/** Checks a CSV against the model's spec, then puts it in the lake's raw zone as the model's latest data. */
export async function ingest(
  target: Target,
  def: ModelDefinition,
  file: string,
  now = new Date(),
): Promise<IngestResult> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(bytes.toString('utf8'), basename(file));
  } catch (err) {
    if (err instanceof CsvFormatError) throw new CliError(err.message);
    throw err;
  }
  const required = [def.spec.label.column, ...def.spec.features.map((f) => f.name)];
  const absent = required.filter((c) => !parsed.header.includes(c));
  if (absent.length > 0) {
    throw new CliError(
      `${basename(file)} lacks column(s) ${absent.join(', ')} that model "${def.name}" needs (header: ${parsed.header.join(', ')}).`,
    );
  }
  let invalid = parsed.malformed.length;
  const examples: string[] = parsed.malformed.slice(0, 3).map((m) => `line ${m.line}: ${m.reason}`);
  for (const rec of parsed.records) {
    const res = validateRow(def.spec, rec.values, 'csv', true);
    if (!res.ok) {
      invalid++;
      if (examples.length < 3)
        examples.push(`line ${rec.line}: ${res.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    }
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const ingestId = `${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${sha256.slice(0, 8)}`;
  const key = lakeKeys.rawData(def.name, ingestId);
  await target.lake.put(key, bytes, 'text/csv');
  const rows = parsed.records.length + parsed.malformed.length;
  // The definition travels with the data: training builds the snapshot with it and the version keeps it.
  const definitionKey = lakeKeys.rawDefinition(def.name, ingestId);
  await target.lake.put(definitionKey, `${JSON.stringify(def, null, 2)}\n`, 'application/json');
  const pointer: RawPointer = { key, ingestId, sha256, rows, ingestedAt: now.toISOString(), definitionKey };
  await target.lake.put(lakeKeys.rawLatest(def.name), JSON.stringify(pointer, null, 2), 'application/json');
  info(`${rows} rows, ${parsed.header.length} columns → s3://${target.lake.bucket}/${key}`);
  if (invalid > 0) {
    info(yellow(`${invalid} row(s) fail the spec and will be quarantined by the prepare step, e.g.`));
    for (const e of examples) info(yellow(`  ${e}`));
  }
  return { key, rows, invalid, sha256 };
}

function progress(e: ExecutionEvent): void {
  if (e.type === 'StateEntered' && e.state) info(dim(`→ ${e.state}`));
  if (e.type === 'StateFailed' && e.state)
    info(red(`✗ ${e.state}: ${e.error ?? ''} ${e.cause ? `— ${e.cause}` : ''}`));
}

async function run(target: Target, kind: MachineKind, input: unknown): Promise<ExecutionResult> {
  return target.execute(kind, input, progress);
}

function explain(res: ExecutionResult): string {
  const task = res.taskError
    ? `${res.taskError.state} failed with ${res.taskError.error}: ${res.taskError.cause}`
    : '';
  return [res.error && `${res.error}`, res.cause && res.cause, task].filter(Boolean).join(' — ');
}

export interface TrainResult {
  model: string;
  version: number;
  metrics: ModelVersion['metrics']['validation'];
  counts: PrepareOutput['counts'];
}

export async function train(target: Target, model: string, seed?: number): Promise<TrainResult> {
  const res = await run(target, 'training', { model, ...(seed === undefined ? {} : { seed }) });
  if (res.status !== 'SUCCEEDED') throw new CliError(`Training of "${model}" failed: ${explain(res)}`);
  const out = res.output as TrainResult;
  ok(`registered ${bold(`${model} v${out.version}`)} (Candidate): ${formatMetrics(out.metrics)}`);
  info(
    `rows: ${out.counts.rows} read, ${out.counts.quarantined} quarantined, ${out.counts.train} train / ${out.counts.validation} validation / ${out.counts.golden} golden`,
  );
  const golden = (await target.registry.getVersion(model, out.version))?.golden;
  if (golden?.source === 'golden-set') {
    info(
      `golden: set ${golden.goldenId} (${golden.rows} rows); ${out.counts.goldenDuplicates ?? 0} raw row(s) identical to a golden row left out of train and validation`,
    );
  }
  return out;
}

export async function resolveVersion(target: Target, model: string, spec: string): Promise<number> {
  if (spec === 'latest') {
    const versions = await target.registry.listVersions(model);
    if (versions.length === 0)
      throw new CliError(`Model "${model}" has no versions yet: run \`mlops train --model ${model}\`.`);
    return Math.max(...versions.map((v) => v.version));
  }
  const n = Number(spec.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`Version must be a positive integer, "v<N>" or "latest"; got "${spec}".`);
  return n;
}

export async function promote(
  target: Target,
  model: string,
  version: number,
  opts: { force?: boolean; reason?: string } = {},
): Promise<{ promoted: boolean; reasons: string[] }> {
  if (opts.force && !opts.reason?.trim())
    throw new CliError('--force needs --reason "..." (it is recorded in the registry).');
  const res = await run(target, 'promotion', {
    model,
    version,
    ...(opts.force ? { force: true, reason: opts.reason } : {}),
  });
  const v = await target.registry.getVersion(model, version);
  const reasons = v?.decision?.reasons ?? [];
  if (res.status === 'SUCCEEDED') {
    ok(`${bold(`${model} v${version}`)} is in production`);
    for (const r of reasons) info(dim(`- ${r}`));
    return { promoted: true, reasons };
  }
  if (res.error === 'GuardrailRefused') {
    info(yellow(`${model} v${version} was refused by the guardrail:`));
    for (const r of reasons) info(yellow(`- ${r}`));
    return { promoted: false, reasons };
  }
  throw new CliError(`Promotion of ${model} v${version} failed: ${explain(res)}`);
}

export async function rollback(
  target: Target,
  model: string,
  reason?: string,
): Promise<{ version: number; from: number }> {
  const res = await run(target, 'rollback', { model, ...(reason ? { reason } : {}) });
  if (res.status !== 'SUCCEEDED') throw new CliError(`Rollback of "${model}" failed: ${explain(res)}`);
  const out = res.output as { version: number; from: number };
  ok(`${bold(model)} rolled back from v${out.from} to ${bold(`v${out.version}`)}`);
  return out;
}

export async function listModels(target: Target, model: string): Promise<void> {
  const [versions, alias] = await Promise.all([
    target.registry.listVersions(model),
    target.registry.getAlias(model),
  ]);
  console.log(
    `${bold(model)}: ${alias ? `production v${alias.current}` : 'no production version'}${alias?.history.length ? `, rollback target v${alias.history.at(-1)}` : ''}`,
  );
  if (versions.length === 0) console.log('  no versions yet');
  else console.log(versionTable(versions, alias));
}

export async function show(target: Target, model: string, version: number): Promise<ModelVersion> {
  const v = await target.registry.getVersion(model, version);
  if (!v) throw new CliError(`Model "${model}" has no version ${version}.`);
  console.log(lineage(v, target.lake.bucket));
  for (const e of await target.registry.listEvidence(model, version)) {
    const failed = e.checks.filter((c) => !c.passed);
    console.log(
      `evidence       ${e.approved ? 'approved' : 'refused'} at ${e.decidedAt} against ${
        e.incumbent === null ? 'no incumbent' : `incumbent v${e.incumbent}`
      }: ${e.checks.length - failed.length} of ${e.checks.length} checks passed${e.forced ? `, forced: ${e.forced.reason}` : ''}`,
    );
    for (const c of failed) console.log(`  ✗ ${c.detail}`);
    console.log(`  evidence file s3://${target.lake.bucket}/${e.evidenceKey}`);
  }
  // What happened to the version: status changes, shadow, canary and its steps, in order.
  const rollout = (await target.registry.listAudit(model)).filter(
    (a) => a.version === version && ROLLOUT_ACTIONS[a.action] !== undefined,
  );
  for (const a of rollout) console.log(`rollout        ${a.at}  ${ROLLOUT_ACTIONS[a.action]!(a.detail)}`);
  return v;
}

const ROLLOUT_ACTIONS: Record<string, (d: Record<string, unknown>) => string> = {
  ShadowStarted: (d) => `shadow started beside v${d.beside}`,
  ShadowEnded: (d) => `shadow ended (${d.verdict}): ${d.summary}`,
  CanaryStarted: (d) => `canary started at ${Number(d.weight) * 100}% beside v${d.beside}`,
  CanaryStepped: (d) => `canary stepped to ${Number(d.weight) * 100}%`,
  CanaryEnded: (d) => `canary ended: ${d.reason}`,
  StatusChanged: (d) => `${d.from} → ${d.to}${d.reason ? `: ${d.reason}` : ''}`,
};

export interface PredictResponse {
  status: number;
  body: {
    predictions?: { score: number; label: string }[];
    modelVersion?: string;
    requestId?: string;
    error?: string;
    message?: string;
  };
}

export async function predict(
  apiUrl: string,
  model: string | undefined,
  instances: unknown[],
  apiKey?: string,
): Promise<PredictResponse> {
  const path = model ? `/v1/models/${encodeURIComponent(model)}/predict` : '/v1/predict';
  const res = await fetch(`${apiUrl.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    body: JSON.stringify({ instances }),
  });
  return { status: res.status, body: (await res.json()) as PredictResponse['body'] };
}
