/**
 * `mlops train`: run the training pipeline on a model's latest ingested data and register a candidate.
 * Every run, an operator's, a schedule's or a drift alarm's, first takes the model's training lease;
 * when another run holds it, the pipeline records the refusal and trains nothing, and so does this
 * command (with a non-zero exit naming the holder).
 */
import { type Command, Option } from 'commander';
import type { Lease, ModelVersion } from '../../core/registry/model.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { explainFailure, runMachine } from '../executions.ts';
import { checkModelName, parseSeed, withModel, withTarget } from '../options.ts';
import { bold, formatMetrics, info, ok, when, yellow } from '../print.ts';
import type { Target } from '../target.ts';

/** The training state machine's output. */
export interface TrainResult {
  model: string;
  version: number;
  metrics: ModelVersion['metrics']['validation'];
  counts: PrepareOutput['counts'];
}

/** The training state machine's output when another run holds the model's lease. */
export interface TrainRefused {
  model: string;
  refused: true;
  lease: Lease;
}

/** The training state machine's input for an operator's run. */
export function trainingInput(model: string, opts: { seed?: number; reason?: string } = {}) {
  return {
    model,
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    trigger: 'operator' as const,
    ...(opts.reason?.trim() ? { reason: opts.reason.trim() } : {}),
  };
}

/** Who holds the lease, since and until when, and why, in lines. */
export function heldLease(lease: Lease, now: Date = new Date()): string[] {
  return [
    `held by ${lease.holder}`,
    `since   ${when(lease.since, now)}`,
    `until   ${when(lease.until, now)} (then it frees itself, should that run never release it)`,
    `cause   ${lease.cause}`,
  ];
}

/**
 * Runs the training pipeline to the end and prints the registered candidate. A failed run, or one
 * refused because another run holds the lease, is a CliError.
 */
export async function train(
  target: Target,
  model: string,
  opts: { seed?: number; reason?: string } = {},
): Promise<TrainResult> {
  const res = await runMachine(target, 'training', trainingInput(model, opts));
  if (res.status !== 'SUCCEEDED') throw new CliError(`Training of "${model}" failed: ${explainFailure(res)}`);
  const refused = res.output as Partial<TrainRefused> | undefined;
  if (refused?.refused === true && refused.lease) {
    info(yellow(`another training run of ${model} holds the lease; this one was recorded, not run:`));
    for (const line of heldLease(refused.lease)) info(yellow(`  ${line}`));
    throw new CliError(
      `Training of "${model}" was refused: ${refused.lease.holder} holds the training lease until ${refused.lease.until}. Wait for that run (\`mlops status --model ${model}\`), then train again.`,
    );
  }
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

/** Adds `mlops train`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('train')
        .description('Run the training pipeline on the latest ingested data and register a candidate.'),
      context,
    ),
    context,
  )
    .addOption(
      new Option('--seed <n>', "seed for the split and the training (default: the model file's)").argParser(
        parseSeed,
      ),
    )
    .option('--reason <text>', 'why (recorded with the run in the audit trail)')
    .option('--wait', 'wait for the run to finish (the twin always does)', true)
    .option('--no-wait', 'on AWS: start the run and return its execution ARN')
    .action(
      async (opts: TargetOptions & { model: string; seed?: number; reason?: string; wait: boolean }) => {
        const model = checkModelName(opts.model);
        const target = await context.target(opts);
        const run = {
          ...(opts.seed === undefined ? {} : { seed: opts.seed }),
          ...(opts.reason === undefined ? {} : { reason: opts.reason }),
        };
        if (!opts.wait && target.start) {
          info(`started ${await target.start('training', trainingInput(model, run))}`);
          return;
        }
        await train(target, model, run);
      },
    );
}
