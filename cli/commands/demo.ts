/**
 * `mlops demo`, the guided demo: the whole loop on the credit data set, each step printed and
 * checked: ingest → golden set → train v1 → promote → predict (v1) → train v2 → promote through a
 * canary → predict (v2) → a worse candidate refused → a riskier population drifts the scores, the
 * prediction-drift alarm fires and its rule rolls v2 back → predict (v1 again) → the registry and
 * `mlops status`. Any step that does not do what it should ends the demo with a non-zero exit. It
 * uses the twin at `--twin` if one answers (an operator rollback stands in for the automatic one when
 * that twin does not run its monitoring with the fast settings), else starts its own, with them, for
 * the length of the demo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { alarmName } from '../../contracts/alarms.ts';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import type { ExecutionRecord, TwinMonitoringSummary } from '../../contracts/twin-api.ts';
import { parseCsv } from '../../core/features/csv.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import { ACTION_AUDIT, type ActionRecord } from '../../core/registry/model.ts';
import { PROJECT_ROOT as projectRoot } from '../../lib/paths.ts';
import type { CliContext } from '../context.ts';
import { deployedDefinition } from '../definitions.ts';
import { CliError } from '../errors.ts';
import { setGolden } from '../golden.ts';
import { parsePort, type ServingMode, servingOption, withModel } from '../options.ts';
import { bold, dim, info, ok, step, yellow } from '../print.ts';
import { Waiting } from '../progress.ts';
import { startTwin } from '../start-twin.ts';
import type { Target } from '../target.ts';
import { drift } from './drift.ts';
import { ingest } from './ingest.ts';
import { apiKeyFor } from './keys.ts';
import { listModels } from './models.ts';
import { predict } from './predict.ts';
import { promote } from './promote.ts';
import { rollback } from './rollback.ts';
import { readVersion } from './show.ts';
import { status } from './status.ts';
import { train } from './train.ts';

/** The demo's training data. */
export const DEMO_DATA = join(projectRoot, 'data', 'credit_data.csv');
/** The demo's reviewed golden set. */
export const DEMO_GOLDEN = join(projectRoot, 'data', 'credit_golden.csv');

/** One applicant of the data set as a client sends it: raw fields, no label. */
function asInstance(def: ModelDefinition, values: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of def.spec.features) {
    const v = values[f.name];
    if (v === undefined || v === '') continue;
    out[f.name] = f.type === 'numeric' ? Number(v) : v;
  }
  return out;
}

/** The first applicants of the data set (two unless told), as a client would send them. */
export function sampleInstances(def: ModelDefinition, count = 2): Record<string, unknown>[] {
  const { records } = parseCsv(readFileSync(DEMO_DATA, 'utf8'));
  return records.slice(0, count).map(({ values }) => asInstance(def, values));
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

/**
 * Whether the twin at `url` plays the closed loop in demo time: its monitoring runs (alarms evaluated,
 * rules and schedules fired) and the model's prediction-drift alarm judges 60 s periods, 1 of 1 (the
 * `fast` settings). Undefined when it does; otherwise why not, in one sentence.
 */
export async function closedLoopUnavailable(
  url: string,
  target: Target,
  model: string,
): Promise<string | undefined> {
  const res = await fetch(`${url}/_twin/monitoring`).catch(() => undefined);
  if (!res?.ok) return `the twin at ${url} does not report its monitoring`;
  if (!((await res.json()) as TwinMonitoringSummary).running)
    return `the twin at ${url} does not evaluate alarms nor run schedules (start it with \`npx mlops local up --fast\`)`;
  const name = alarmName(target.stage ?? 'dev', 'prediction-drift', model);
  const alarm = (await target.alarms()).find((a) => a.name === name);
  if (!alarm || alarm.notEmulated) return `the twin at ${url} does not evaluate the alarm ${name}`;
  if (alarm.periodSeconds > 60 || alarm.evaluationPeriods > 1)
    return `its alarm ${name} judges ${alarm.evaluationPeriods} period(s) of ${alarm.periodSeconds} s, too long for a demo (start it with \`npx mlops local up --fast\`)`;
  return undefined;
}

/** The applicants of the demo data who went on to default (label positive), as a client sends them. */
function riskierPopulation(def: ModelDefinition): Record<string, unknown>[] {
  const { records } = parseCsv(readFileSync(DEMO_DATA, 'utf8'));
  return records
    .filter(({ values }) => values[def.spec.label.column] === def.spec.label.positive)
    .map(({ values }) => asInstance(def, values));
}

/** How long the demo waits for the alarm, its rule and the rollback it starts. */
const CLOSED_LOOP_DEADLINE_MS = 150_000;

/**
 * A riskier population reaches production: the drift job (run now rather than on its schedule) finds
 * the served scores moved, the prediction-drift alarm goes to ALARM on its next evaluation, and its
 * rule runs the rollback state machine, which puts `to` back. Waits for that with a deadline, printing
 * progress, and prints the action as the audit trail records it, with its cause.
 */
async function driftRollsBack(target: Target, def: ModelDefinition, from: number, to: number): Promise<void> {
  const { key } = await apiKeyFor(target);
  const send = async (instances: Record<string, unknown>[]) => {
    for (let i = 0; i < instances.length; i += 100) {
      const res = await predict(target.apiUrl, def.name, instances.slice(i, i + 100), key);
      if (res.status !== 200)
        throw new CliError(
          `POST /v1/models/${def.name}/predict answered ${res.status}: ${JSON.stringify(res.body)}`,
        );
    }
  };
  const usual = sampleInstances(def, Number.POSITIVE_INFINITY).filter((_, i) => i % 10 === 0);
  await send(usual);
  info(`sent ${usual.length} applicants like those v${from} was trained on (every 10th of the data set)`);
  const risky = riskierPopulation(def);
  await send(risky);
  info(
    `sent ${risky.length} applicants who went on to default: each a valid request, the mix a new population`,
  );
  info('running the drift job now (it also runs every minute on its schedule):');
  await drift(target, def.name);
  const name = alarmName(target.stage ?? 'dev', 'prediction-drift', def.name);
  const waiting = new Waiting("waiting for the alarm's next evaluation and its rule…");
  let lastState = '';
  try {
    for (;;) {
      const action = (await target.registry.listAudit(def.name))
        .filter((e) => e.action === ACTION_AUDIT)
        .map((e) => e.detail as unknown as ActionRecord)
        .find((a) => a.kind === 'rollback' && a.trigger === 'alarm' && a.from === from);
      if (action) {
        if (lastState !== 'ALARM')
          waiting.note(
            `alarm ${name} went to ${bold('ALARM')} and its rule started the rollback state machine`,
          );
        waiting.stop();
        if (action.outcome !== 'done' || action.to !== to)
          throw new CliError(
            `The alarm's rollback ended ${action.outcome}${action.note ? ` (${action.note})` : ''}: ${action.cause}`,
          );
        ok(`the platform rolled ${bold(`v${from}`)} back to ${bold(`v${to}`)} on its own: ${action.cause}`);
        break;
      }
      const alarm = (await target.alarms()).find((a) => a.name === name);
      if (alarm && alarm.state !== lastState) {
        lastState = alarm.state;
        waiting.note(
          `${waiting.seconds()}s: alarm ${name} is ${alarm.state === 'ALARM' ? bold('ALARM') : alarm.state}${alarm.state === 'ALARM' ? `: ${alarm.reason}` : ''}`,
        );
        if (alarm.state === 'ALARM') waiting.note('its rule starts the rollback state machine…');
      } else waiting.tick();
      if (waiting.seconds() * 1000 > CLOSED_LOOP_DEADLINE_MS)
        throw new CliError(
          `No automatic rollback of v${from} within ${CLOSED_LOOP_DEADLINE_MS / 1000} s; the alarm ${name} is ${alarm?.state ?? 'missing'}${alarm ? `: ${alarm.reason}` : ''}.`,
        );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    waiting.stop();
  }
  // Warm predict instances keep the production alias this long.
  await new Promise((resolve) => setTimeout(resolve, PRODUCTION_ALIAS_TTL_MS));
}

/** The canary stage's verdict on a version, from the twin's record of the stage's execution. */
async function canaryVerdict(url: string, version: number): Promise<string> {
  const executions = (await (await fetch(`${url}/_twin/executions`)).json()) as ExecutionRecord[];
  const stage = executions
    .filter((e) => (e.input as { version?: number }).version === version)
    .map((e) => e.output as { outcome?: string; check?: { bakes: number; summary: string } } | undefined)
    .findLast((o) => o?.outcome !== undefined && o.check !== undefined);
  if (!stage?.check) return `the twin at ${url} has no record of v${version}'s canary stage`;
  return `canary verdict after ${stage.check.bakes} bake(s): ${stage.outcome}; ${stage.check.summary}`;
}

/** What the demo can show beyond the pipelines: the closed loop, when the twin plays it in demo time. */
export interface DemoOptions {
  /** Why the drift alarm and its automatic rollback are skipped (an operator rollback stands in). */
  closedLoopUnavailable?: string;
  /** The twin's URL, whose record of executions holds the canary's verdict. */
  twinUrl?: string;
  /** The stage the status reads the alarms of, when the target does not say. */
  stage: string;
}

/** Runs the demo on a target; a step that does not do what it should is a CliError. */
export async function runDemo(target: Target, def: ModelDefinition, opts: DemoOptions): Promise<void> {
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

  step('6. Train v2 (seed 7) and promote it: guardrail, then a canary beside v1 before it takes all traffic');
  const v2 = await train(target, def.name, { seed: 7, reason: 'demo' });
  const p2 = await promote(target, def.name, v2.version);
  if (!p2.promoted) throw new CliError(`v${v2.version} was refused: ${p2.reasons.join('; ')}`);
  const canary = (await readVersion(target, def.name, v2.version)).rollout.filter((a) =>
    a.action.startsWith('Canary'),
  );
  if (canary.length === 0) throw new CliError(`The promotion of v${v2.version} ran no canary.`);
  for (const a of canary) info(a.summary);
  if (opts.twinUrl) info(await canaryVerdict(opts.twinUrl, v2.version));
  await expectServedBy(target, def, v2.version);

  step('7. A worse candidate is refused, with its reasons, and production stays');
  await ingest(target, weakened(def), DEMO_DATA);
  const v3 = await train(target, def.name, { seed: 42, reason: 'demo' });
  const p3 = await promote(target, def.name, v3.version);
  if (p3.promoted)
    throw new CliError(`v${v3.version} (3 shallow trees) should have been refused, but was promoted.`);
  await expectServedBy(target, def, v2.version);
  await ingest(target, def, DEMO_DATA);

  if (opts.closedLoopUnavailable === undefined) {
    step(
      '8. Drift: a riskier population moves the scores, the alarm fires, the platform rolls back on its own',
    );
    await driftRollsBack(target, def, v2.version, v1.version);
  } else {
    step('8. Roll back with one command: mlops rollback --reason "…"');
    info(yellow(`the drift alarm and its automatic rollback are skipped: ${opts.closedLoopUnavailable}`));
    const rb = await rollback(target, def.name, { reason: 'demo: operator rollback' });
    if (rb.outcome !== 'done')
      throw new CliError(`Rollback did not move production (${rb.outcome}): ${rb.reason}`);
    if (rb.version !== v1.version)
      throw new CliError(`Rollback restored v${rb.version}, expected v${v1.version}.`);
  }
  await expectServedBy(target, def, v1.version);

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

  step('10. The operator status: mlops status');
  await status(target, def.name, { stage: target.stage ?? opts.stage });
  console.log(
    `\n${bold('Demo complete:')} v${v1.version} → v${v2.version} (canary) → ${
      opts.closedLoopUnavailable === undefined ? 'drift alarm → automatic rollback' : 'rollback'
    } → v${v1.version} served; v${v3.version} refused.`,
  );
}

/** Adds `mlops demo`. */
export function register(program: Command, context: CliContext): void {
  withModel(
    program
      .command('demo')
      .description(
        'Run the whole loop on the credit data: train, promote, a canary, a refused candidate, a drift alarm and the automatic rollback, then the status.',
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
      const target = await twinTarget(opts.twin);
      await runDemo(target, def, {
        stage: context.settings().stage,
        twinUrl: opts.twin,
        closedLoopUnavailable: await closedLoopUnavailable(opts.twin, target, def.name),
      });
      info(
        `dashboard: ${opts.twin}/dashboard (the operators' view), ${opts.twin}/dashboard/models/${def.name}`,
      );
      return;
    }
    info(`no twin at ${opts.twin}; starting one for this demo (synthesizing the CDK app)…`);
    const config = context.config();
    const running = await startTwin({
      host: '127.0.0.1',
      port: opts.port,
      // The short monitoring settings, so that drift → alarm → rule → rollback plays out in a minute.
      // A cold model load on a busy machine can pass the p99 latency budget, whose alarm would roll
      // v2 back before the drift does: the demo's twin leaves latency out of the story.
      config: {
        ...config,
        models: config.models.map((m) => ({ ...m, alarms: { ...m.alarms, latencyP99Ms: 60_000 } })),
      },
      fast: true,
      monitoring: true,
      log: (l) => info(dim(`  ${l}`)),
      ...(opts.serving ? { serving: opts.serving } : {}),
    });
    try {
      await runDemo(await twinTarget(running.url), def, { stage: config.stage, twinUrl: running.url });
    } finally {
      await running.stop();
    }
    info(
      `dashboard: this demo stopped the twin it started; \`npm start\` keeps one running, then open http://127.0.0.1:${context.twinPort}/dashboard`,
    );
  });
}
