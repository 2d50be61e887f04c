/** The error type the operator CLI reports without a stack. */

/** An error the CLI prints as a one-line message (no stack) before exiting non-zero. */
export class CliError extends Error {
  override name = 'CliError';
}
