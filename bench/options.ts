/**
 * Command-line options of the benchmarks: strict flags (an unknown one is an error that points at
 * `--help`), `-h`/`--help`, and whole-number flags checked with their name in the message.
 */
import { parseArgs } from 'node:util';

/** A flag of a benchmark: a value (`string`) or a switch (`boolean`). */
export type BenchFlags = Record<string, { type: 'string' | 'boolean' }>;

/** The flags' values, or undefined when `--help` was asked for. */
export function benchArgs(
  argv: string[],
  flags: BenchFlags,
): Record<string, string | boolean | undefined> | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: { ...flags, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new Error(`${(err as Error).message} (see --help)`);
  }
  return values.help ? undefined : values;
}

/** A flag's value as a positive whole number, or `fallback` when it is not given. */
export function positiveInt(name: string, text: string | boolean | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (typeof text !== 'string' || !Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} must be a positive integer, got "${String(text)}" (see --help)`);
  }
  return n;
}
