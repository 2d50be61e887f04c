/**
 * `mlops demo`, the guided demo: the whole loop on the credit data set, each step printed and
 * checked: ingest → golden set → train v1 → promote → predict (v1) → train v2 → promote → predict
 * (v2) → rollback → predict (v1 again) → a worse candidate refused. Any step that does not do what
 * it should ends the demo with a non-zero exit. It uses the twin at `--twin` if one answers, else
 * starts its own for the length of the demo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { parseCsv } from '../../core/features/csv.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import { PROJECT_ROOT as projectRoot } from '../../lib/paths.ts';
import type { CliContext } from '../context.ts';
import { deployedDefinition } from '../definitions.ts';
import { CliError } from '../errors.ts';
import { setGolden } from '../golden.ts';
import { parsePort, type ServingMode, servingOption, withModel } from '../options.ts';
import { bold, dim, info, ok, step } from '../print.ts';
import { startTwin } from '../start-twin.ts';
import type { Target } from '../target.ts';
import { ingest } from './ingest.ts';
import { apiKeyFor } from './keys.ts';
import { listModels } from './models.ts';
import { predict } from './predict.ts';
import { promote } from './promote.ts';
import { rollback } from './rollback.ts';
import { train } from './train.ts';

/** The demo's training data. */
export const DEMO_DATA = join(projectRoot, 'data', 'credit_data.csv');
/** The demo's reviewed golden set. */
export const DEMO_GOLDEN = join(projectRoot, 'data', 'credit_golden.csv');

/** Two applicants from the data set, as a client would send them (raw fields, no label). */
export function sampleInstances(def: ModelDefinition, count = 2): Record<string, unknown>[] {
  const { records } = parseCsv(readFileSync(DEMO_DATA, 'utf8'));
  return records.slice(0, count).map(({ values }) => {
    const out: Record<string, unknown> = {};
    for (const f of def.spec.features) {
      const v = values[f.name];
      if (v === undefined || v === '') continue;
      out[f.name] = f.type === 'numeric' ? Number(v) : v;
    }
    return out;
  });
}

async function expectServedBy(target: Target, def: ModelDefinition, version: number): Promise<void> {
  const instances = sampleInstances(def);
  const res = await predict(target.apiUrl, undefined, instances, (await apiKeyFor(target)).key);
  if (res.status !== 200)
    throw new CliError(`POST /v1/predict answered ${res.status}: ${JSON.stringify(res.body)}`);
  const scores = res.body.predictions!.map((p) => `${p.score.toFixed(4)} (${p.label})`).join(', ');
  info(
    `POST ${target.apiUrl}/v1/predict → 200 ${JSON.stringify({ modelVersion: res.body.modelVersion })} scores ${scores}`,
  );
  if (res.body.modelVersion !== String(version)) {
    throw new CliError(
      `Expected model version ${version} to serve, but the response names version ${res.body.modelVersion}.`,
    );
  }
  ok(`served by ${bold(`v${version}`)}`);
}

/** The same model with three one-split trees: a plausible but clearly worse candidate. */
function weakened(def: ModelDefinition): ModelDefinition {
  return {
    ...def,
    training: {
      ...def.training,
      hyperparameters: { ...def.training.hyperparameters, num_round: 3, max_depth: 1 },
    },
  };
}

/** Runs the demo on a target; a step that does not do what it should is a CliError. */
export async function runDemo(target: Target, def: ModelDefinition): Promise<void> {
  info(`target: ${target.description}`);
  step(`1. Ingest ${DEMO_DATA.slice(projectRoot.length + 1)} into the lake`);
  await ingest(target, def, DEMO_DATA);

  step(`2. Set the reviewed golden set every candidate and incumbent is scored on`);
  await setGolden(target.lake, { def, from: `models/${def.name}.json` }, DEMO_GOLDEN, {
    note: 'demo: reviewed cases, stratified by class and slice',
  });

  step('3. Train v1 (seed 42): prepare → SageMaker training (local XGBoost) → evaluate → register');
  const v1 = await train(target, def.name, { seed: 42, reason: 'demo' });

  step(`4. Promote v${v1.version}: guardrail → deploy → production alias`);
  const p1 = await promote(target, def.name, v1.version);
  if (!p1.promoted) throw new CliError(`v${v1.version} was refused: ${p1.reasons.join('; ')}`);

  step('5. Predict over HTTP');
  await expectServedBy(target, def, v1.version);

  step('6. Train v2 (seed 7) and promote it');
  const v2 = await train(target, def.name, { seed: 7, reason: 'demo' });
  const p2 = await promote(target, def.name, v2.version);
  if (!p2.promoted) throw new CliError(`v${v2.version} was refused: ${p2.reasons.join('; ')}`);
  await expectServedBy(target, def, v2.version);

  step('7. Roll back with one command: mlops rollback --reason "…"');
  const rb = await rollback(target, def.name, { reason: 'demo: operator rollback' });
  if (rb.outcome !== 'done')
    throw new CliError(`Rollback did not move production (${rb.outcome}): ${rb.reason}`);
  if (rb.version !== v1.version)
    throw new CliError(`Rollback restored v${rb.version}, expected v${v1.version}.`);
  await expectServedBy(target, def, v1.version);

  step('8. A worse candidate is refused, with its reasons, and production stays');
  await ingest(target, weakened(def), DEMO_DATA);
  const v3 = await train(target, def.name, { seed: 42, reason: 'demo' });
  const p3 = await promote(target, def.name, v3.version);
  if (p3.promoted)
    throw new CliError(`v${v3.version} (3 shallow trees) should have been refused, but was promoted.`);
  await expectServedBy(target, def, v1.version);
  await ingest(target, def, DEMO_DATA);

  step('9. The registry now');
  await listModels(target, def.name);
  const served = await target.readPredictions(def.name, new Date(Date.now() - 3600_000), new Date());
  const byVersion = new Map<number, number>();
  for (const r of served) byVersion.set(r.modelVersion, (byVersion.get(r.modelVersion) ?? 0) + 1);
  info(
    `prediction log: ${served.length} rows (${[...byVersion.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([v, n]) => `v${v}: ${n}`)
      .join(', ')})`,
  );
  console.log(
    `\n${bold('Demo complete:')} v${v1.version} → v${v2.version} → rollback → v${v1.version} served; v${v3.version} refused.`,
  );
}

/** Adds `mlops demo`. */
export function register(program: Command, context: CliContext): void {
  withModel(
    program
      .command('demo')
      .description(
        'Run the whole loop on the credit data: ingest, train v1, promote, predict, train v2, promote, roll back, predict v1.',
      )
      .option('--twin <url>', 'use the twin at this URL if one is listening', context.twinUrl)
      .addOption(
        new Option('-p, --port <port>', 'port for a twin the demo starts itself (0: any free port)')
          .argParser(parsePort)
          .default(0),
      )
      .addOption(servingOption()),
    context,
  ).action(async (opts: { twin: string; port: number; model: string; serving?: ServingMode }) => {
    const def = deployedDefinition(context, opts.model);
    const { isTwinListening, twinTarget } = await import('../target.ts');
    if (await isTwinListening(opts.twin)) {
      if (opts.serving)
        info(`--serving applies to a twin the demo starts; the twin at ${opts.twin} keeps its own mode`);
      await runDemo(await twinTarget(opts.twin), def);
      info(
        `dashboard: ${opts.twin}/dashboard (the operators' view), ${opts.twin}/dashboard/models/${def.name}`,
      );
      return;
    }
    info(`no twin at ${opts.twin}; starting one for this demo (synthesizing the CDK app)…`);
    const running = await startTwin({
      host: '127.0.0.1',
      port: opts.port,
      config: context.config(),
      log: (l) => info(dim(`  ${l}`)),
      ...(opts.serving ? { serving: opts.serving } : {}),
    });
    try {
      await runDemo(await twinTarget(running.url), def);
    } finally {
      await running.stop();
    }
    info(
      `dashboard: this demo stopped the twin it started; \`npm start\` keeps one running, then open http://127.0.0.1:${context.twinPort}/dashboard`,
    );
  });
}
