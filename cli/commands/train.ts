/** `mlops train`: run the training pipeline on a model's latest ingested data and register a candidate. */
import { type Command, Option } from 'commander';
import type { ModelVersion } from '../../core/registry/model.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { explainFailure, runMachine } from '../executions.ts';
import { checkModelName, parseSeed, withModel, withTarget } from '../options.ts';
import { bold, formatMetrics, info, ok } from '../print.ts';
import type { Target } from '../target.ts';

/** The training state machine's output. */
export interface TrainResult {
  model: string;
  version: number;
  metrics: ModelVersion['metrics']['validation'];
  counts: PrepareOutput['counts'];
}

/** Runs the training pipeline to the end and prints the registered candidate; a failed run is a CliError. */
export async function train(target: Target, model: string, seed?: number): Promise<TrainResult> {
  const res = await runMachine(target, 'training', { model, ...(seed === undefined ? {} : { seed }) });
  if (res.status !== 'SUCCEEDED') throw new CliError(`Training of "${model}" failed: ${explainFailure(res)}`);
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
    .option('--wait', 'wait for the run to finish (the twin always does)', true)
    .option('--no-wait', 'on AWS: start the run and return its execution ARN')
    .action(async (opts: TargetOptions & { model: string; seed?: number; wait: boolean }) => {
      const model = checkModelName(opts.model);
      const target = await context.target(opts);
      if (!opts.wait && target.start) {
        info(
          `started ${await target.start('training', { model, ...(opts.seed === undefined ? {} : { seed: opts.seed }) })}`,
        );
        return;
      }
      await train(target, model, opts.seed);
    });
}
