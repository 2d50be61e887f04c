/** The errors the operator CLI reports without a stack, and the exit codes it ends with. */

/** The exit codes of `mlops`, as the README's CLI section documents them. */
export const EXIT_CODES = {
  /** The command did what it was asked. */
  ok: 0,
  /** The command failed: the target did not answer, a file or a record was bad, a job failed. */
  failed: 1,
  /** The command line itself was wrong: an unknown option, a bad value, a missing argument. */
  usage: 2,
  /** The platform refused on its own terms: a promotion the guardrail refused, a rollback that paged. */
  refused: 3,
} as const;

/** An error the CLI prints as a one-line message (no stack) before exiting with {@link exitCode}. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number = EXIT_CODES.failed;
}

/** A CliError about the command line: a flag's value or a combination of flags (exit code 2). */
export class UsageError extends CliError {
  override name = 'UsageError';
  override readonly exitCode: number = EXIT_CODES.usage;
}
