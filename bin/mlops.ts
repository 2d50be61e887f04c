/**
 * The operator CLI: `mlops <command>`. It acts on the local twin when one is listening, and on a
 * deployed stage on AWS otherwise. Each verb is a module under `cli/commands/` that registers its
 * own options, help and action; this file puts them in one program and reports what fails.
 */
// The functions run on nodejs22.x in AWS; on a Node 20 workstation the SDK's notice about its
// future Node 22 requirement would otherwise repeat on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { Command, CommanderError } from 'commander';
import * as demo from '../cli/commands/demo.ts';
import * as drift from '../cli/commands/drift.ts';
import * as golden from '../cli/commands/golden.ts';
import * as ingest from '../cli/commands/ingest.ts';
import * as keys from '../cli/commands/keys.ts';
import * as local from '../cli/commands/local.ts';
import * as models from '../cli/commands/models.ts';
import * as predict from '../cli/commands/predict.ts';
import * as promote from '../cli/commands/promote.ts';
import * as rollback from '../cli/commands/rollback.ts';
import * as score from '../cli/commands/score.ts';
import * as scoreBatch from '../cli/commands/score-batch.ts';
import * as show from '../cli/commands/show.ts';
import * as spec from '../cli/commands/spec.ts';
import * as status from '../cli/commands/status.ts';
import * as train from '../cli/commands/train.ts';
import { type CliContext, createContext } from '../cli/context.ts';
import { CliError, EXIT_CODES } from '../cli/errors.ts';
import { fail, red } from '../cli/print.ts';

/** The verbs in the order `mlops --help` lists them. */
const verbs: { register(program: Command, context: CliContext): void }[] = [
  local,
  demo,
  ingest,
  spec,
  train,
  promote,
  rollback,
  status,
  drift,
  models,
  show,
  predict,
  keys,
  golden,
  score,
  scoreBatch,
];

try {
  const program = new Command()
    .name('mlops')
    .description(
      'Operate the ML platform: the local twin, training, promotion, rollback, status, drift and the model registry.',
    )
    .showHelpAfterError()
    // Commander's errors are thrown instead of exiting, so that they end with the usage exit code.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(red(str)) });
  const context = createContext();
  for (const verb of verbs) verb.register(program, context);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    process.exitCode = err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  } else if (err instanceof CliError) {
    fail(err.message);
    process.exitCode = err.exitCode;
  } else {
    // Not an error the CLI anticipated: the stack is what a bug report needs.
    fail((err as Error).stack ?? String(err));
    process.exitCode = EXIT_CODES.failed;
  }
}
