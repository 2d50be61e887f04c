/**
 * The options several verbs share and the parsers of option values. Parsers given to commander
 * throw `InvalidArgumentError`, which commander reports naming the option and the value; checks
 * made in an action throw a `CliError` that names them itself.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliContext } from './context.ts';
import { UsageError } from './errors.ts';

/** A TCP port, 0 (any free port) to 65535. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`must be an integer 0-65535, got "${value}"`);
  return n;
}

/** A seed for the split and the training: a non-negative 31-bit integer. */
export function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1)
    throw new InvalidArgumentError(`must be a non-negative integer, got "${value}"`);
  return n;
}

/** A model name as the registry knows it; it need not be deployed yet (ingest --spec adds models). */
export function checkModelName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) {
    throw new UsageError(
      `--model "${name}" is not a model name (lower-case letters, digits and -, at most 32).`,
    );
  }
  return name;
}

/** How a twin synthesized by the command serves predictions. */
export type ServingMode = 'lambda' | 'endpoint';

/** `--serving <mode>` of the commands that synthesize a twin. */
export function servingOption(): Option {
  return new Option(
    '--serving <mode>',
    'serving mode of a twin synthesized here: lambda (the scorer in the predict function) or endpoint (local SageMaker endpoints); default: the config',
  ).choices(['lambda', 'endpoint']);
}

/** Adds `--twin <url>` and `--stage <name>`, which choose where the command acts (see `CliContext.target`). */
export function withTarget(cmd: Command, context: CliContext): Command {
  return cmd
    .option('--twin <url>', 'URL of the local twin', context.twinUrl)
    .option('--stage <name>', 'act on this deployed stage on AWS instead of the local twin');
}

/** Adds `-m, --model <name>`, defaulting to the config's default model. */
export function withModel(cmd: Command, context: CliContext): Command {
  return cmd.option('-m, --model <name>', 'model name (a file in models/)', context.settings().defaultModel);
}
