/**
 * The operator CLI: `mlops <command>`. It acts on the local twin when one is listening, and on a
 * deployed stage on AWS otherwise.
 */
// The functions run on nodejs22.x in AWS; on a Node 20 workstation the SDK's notice about its
// future Node 22 requirement would otherwise repeat on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  CliError,
  ingest,
  listModels,
  predict,
  promote,
  resolveVersion,
  rollback,
  show,
  train,
} from '../cli/commands.ts';
import { runDemo } from '../cli/demo.ts';
import { registerGoldenCommand } from '../cli/golden.ts';
import { startTwin } from '../cli/local-up.ts';
import { bold, dim, fail, info, red } from '../cli/print.ts';
import { registerScoreCommand } from '../cli/score.ts';
import { inferDefinition } from '../cli/spec-infer.ts';
import { awsTarget, isTwinListening, type Target, twinTarget } from '../cli/target.ts';
import { type ModelDefinition, parseModelDefinition } from '../core/model/definition.ts';
import { findModel, getModel, modelNames } from '../lambdas/shared/models.ts';
import { projectConfig } from '../lib/config.ts';
import { MODELS_DIR } from '../lib/paths.ts';

const DEFAULT_PORT = 3000;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`must be an integer 0-65535, got "${value}"`);
  return n;
}

function seed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1)
    throw new InvalidArgumentError(`must be a non-negative integer, got "${value}"`);
  return n;
}

function readDefinition(file: string): ModelDefinition {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`Cannot read the model definition ${file}: ${(err as Error).message}`);
  }
  try {
    return parseModelDefinition(raw, file);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** A model name as the registry knows it; it need not be deployed yet (ingest --spec adds models). */
function modelName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) {
    throw new CliError(
      `--model "${name}" is not a model name (lower-case letters, digits and -, at most 32).`,
    );
  }
  return name;
}

function modelDef(name: string) {
  try {
    return getModel(name);
  } catch {
    throw new CliError(
      `Unknown model "${name}". Models are the files in models/: ${modelNames().join(', ')}.`,
    );
  }
}

interface TargetOpts {
  twin: string;
  stage?: string;
}

async function target(opts: TargetOpts): Promise<Target> {
  if (!opts.stage && (await isTwinListening(opts.twin))) return twinTarget(opts.twin);
  if (!opts.stage) {
    throw new CliError(
      `No local twin answers at ${opts.twin}. Start one with \`npm start\`, or pass --stage <name> to act on a deployed stage.`,
    );
  }
  return awsTarget(opts.stage);
}

const program = new Command()
  .name('mlops')
  .description(
    'Operate the ML platform: the local twin, training, promotion, rollback and the model registry.',
  )
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(red(str)) });

function withTarget(cmd: Command): Command {
  return cmd
    .option(
      '--twin <url>',
      'URL of the local twin',
      process.env.MLOPS_TWIN_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`,
    )
    .option('--stage <name>', 'act on this deployed stage on AWS instead of the local twin');
}

function withModel(cmd: Command): Command {
  return cmd.option('-m, --model <name>', 'model name (a file in models/)', projectConfig().defaultModel);
}

function servingOption(): Option {
  return new Option(
    '--serving <mode>',
    'serving mode of a twin synthesized here: lambda (the scorer in the predict function) or endpoint (local SageMaker endpoints); default: the config',
  ).choices(['lambda', 'endpoint']);
}

const local = program.command('local').description('The local twin: the whole platform on this machine.');
local
  .command('up')
  .description('Synthesize the CDK app and boot the twin from it; serve the prediction API on loopback.')
  .addOption(
    new Option('-p, --port <port>', 'port of the prediction API')
      .argParser(port)
      .default(Number(process.env.PORT ?? DEFAULT_PORT)),
  )
  .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
  .option(
    '--assembly <dir>',
    'boot from this synthesized cloud assembly (e.g. cdk.out of `npx cdk synth`) instead of synthesizing',
  )
  .addOption(servingOption())
  .action(
    async (opts: { port: number; host: string; assembly?: string; serving?: 'lambda' | 'endpoint' }) => {
      if (opts.assembly && opts.serving) {
        throw new CliError(
          '--serving applies when the twin synthesizes; an --assembly keeps the mode it was synthesized with.',
        );
      }
      if (opts.assembly && !existsSync(join(opts.assembly, 'manifest.json'))) {
        throw new CliError(
          `--assembly ${opts.assembly} is not a cloud assembly (no manifest.json); run \`npx cdk synth\` first.`,
        );
      }
      info(
        opts.assembly
          ? `booting the local twin from ${opts.assembly}…`
          : 'synthesizing the CDK app and booting the local twin…',
      );
      const running = await startTwin({
        host: opts.host,
        port: opts.port,
        log: (l) => info(dim(l)),
        ...(opts.assembly ? { assemblyDir: opts.assembly } : {}),
        ...(opts.serving ? { serving: opts.serving } : {}),
      });
      console.log(`\n${bold('Local twin ready')} at ${running.url}`);
      info(`prediction API   POST ${running.url}/v1/predict   POST ${running.url}/v1/models/<name>/predict`);
      info(`DynamoDB         ${running.twin.endpoints.dynamodb} (dynalite)`);
      info(`S3               ${running.twin.endpoints.s3} (s3rver)`);
      info(
        `SageMaker        ${running.twin.endpoints.sagemaker} (local endpoints; GET ${running.url}/_twin/endpoints)`,
      );
      info(`function logs    ${running.twin.logs.logFile}`);
      info('try              npx mlops demo      (in another terminal)');
      info('stop             Ctrl-C');
      const shutdown = async () => {
        info('stopping the twin…');
        await running.stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
  );

withModel(
  program
    .command('demo')
    .description(
      'Run the whole loop on the credit data: ingest, train v1, promote, predict, train v2, promote, roll back, predict v1.',
    )
    .option(
      '--twin <url>',
      'use the twin at this URL if one is listening',
      process.env.MLOPS_TWIN_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`,
    )
    .addOption(
      new Option('-p, --port <port>', 'port for a twin the demo starts itself (0: any free port)')
        .argParser(port)
        .default(0),
    )
    .addOption(servingOption()),
).action(async (opts: { twin: string; port: number; model: string; serving?: 'lambda' | 'endpoint' }) => {
  const def = modelDef(opts.model);
  if (await isTwinListening(opts.twin)) {
    if (opts.serving)
      info(`--serving applies to a twin the demo starts; the twin at ${opts.twin} keeps its own mode`);
    await runDemo(await twinTarget(opts.twin), def);
    return;
  }
  info(`no twin at ${opts.twin}; starting one for this demo (synthesizing the CDK app)…`);
  const running = await startTwin({
    host: '127.0.0.1',
    port: opts.port,
    log: (l) => info(dim(`  ${l}`)),
    ...(opts.serving ? { serving: opts.serving } : {}),
  });
  try {
    await runDemo(await twinTarget(running.url), def);
  } finally {
    await running.stop();
  }
});

withTarget(
  withModel(
    program
      .command('ingest')
      .description('Check a CSV against the model spec and put it in the lake as the next training data.'),
  ),
)
  .argument('<csv>', 'path of the CSV file (header row required)')
  .option(
    '--spec <file>',
    'model definition to ingest with (default: models/<model>.json); its name is the model',
  )
  .action(async (csv: string, opts: TargetOpts & { model: string; spec?: string }, cmd: Command) => {
    let def = modelDef(opts.model);
    if (opts.spec) {
      def = readDefinition(opts.spec);
      if (cmd.getOptionValueSource('model') === 'cli' && opts.model !== def.name) {
        throw new CliError(`--model "${opts.model}" differs from the name "${def.name}" in ${opts.spec}.`);
      }
    }
    await ingest(await target(opts), def, csv);
  });

const spec = program
  .command('spec')
  .description('Model definitions: the feature spec and settings of a model.');
spec
  .command('infer')
  .description(
    'Write a starting model definition for a CSV with a binary label; review it, then ingest with --spec.',
  )
  .argument('<csv>', 'path of the CSV file (header row required)')
  .requiredOption('--label <column>', 'the label column (two distinct values)')
  .option('--positive <value>', 'the positive class (default: the rarer value)')
  .option('--name <name>', 'model name (default: from the file name)')
  .option('-o, --out <file>', 'where to write the definition (default: models/<name>.json)')
  .option('--force', 'overwrite an existing file')
  .action(
    async (
      csv: string,
      opts: { label: string; positive?: string; name?: string; out?: string; force?: boolean },
    ) => {
      let text: string;
      try {
        text = readFileSync(csv, 'utf8');
      } catch (err) {
        throw new CliError(`Cannot read ${csv}: ${(err as Error).message}`);
      }
      const { definition, notes } = inferDefinition(text, {
        label: opts.label,
        source: csv,
        ...(opts.positive === undefined ? {} : { positive: opts.positive }),
        ...(opts.name === undefined ? {} : { name: opts.name }),
      });
      const out = opts.out ?? join(MODELS_DIR, `${definition.name}.json`);
      if (existsSync(out) && !opts.force)
        throw new CliError(`${out} exists; pass --force to overwrite it or --out <file>.`);
      writeFileSync(out, `${JSON.stringify(definition, null, 2)}\n`);
      for (const n of notes) info(dim(n));
      info(`wrote ${out}: model "${definition.name}", ${definition.spec.features.length} features`);
      info(`next: npx mlops ingest ${csv} --spec ${out} && npx mlops train --model ${definition.name}`);
    },
  );

withTarget(
  withModel(
    program
      .command('train')
      .description('Run the training pipeline on the latest ingested data and register a candidate.'),
  ),
)
  .addOption(
    new Option('--seed <n>', "seed for the split and the training (default: the model file's)").argParser(
      seed,
    ),
  )
  .option('--wait', 'wait for the run to finish (the twin always does)', true)
  .option('--no-wait', 'on AWS: start the run and return its execution ARN')
  .action(async (opts: TargetOpts & { model: string; seed?: number; wait: boolean }) => {
    const t = await target(opts);
    const model = modelName(opts.model);
    if (!opts.wait && t.start) {
      info(
        `started ${await t.start('training', { model, ...(opts.seed === undefined ? {} : { seed: opts.seed }) })}`,
      );
      return;
    }
    await train(t, model, opts.seed);
  });

withTarget(
  withModel(
    program
      .command('promote')
      .description('Run the promotion pipeline: guardrail, deploy, production alias.'),
  ),
)
  .argument('<version>', 'version number, v<N>, or "latest"')
  .option('--force', 'promote even if the guardrail refuses (needs --reason; recorded)')
  .option('--reason <text>', 'why the promotion is forced')
  .action(async (version: string, opts: TargetOpts & { model: string; force?: boolean; reason?: string }) => {
    const t = await target(opts);
    const model = modelName(opts.model);
    const res = await promote(t, model, await resolveVersion(t, model, version), opts);
    if (!res.promoted) process.exitCode = 3;
  });

withTarget(
  withModel(
    program.command('rollback').description('Put the previous production version back, in one move.'),
  ),
)
  .option('--reason <text>', 'why (recorded in the registry and sent to operators)')
  .action(async (opts: TargetOpts & { model: string; reason?: string }) => {
    await rollback(await target(opts), modelName(opts.model), opts.reason);
  });

withTarget(
  withModel(
    program
      .command('models')
      .description('List the versions of a model, its status and the production alias.'),
  ),
).action(async (opts: TargetOpts & { model: string }) => {
  await listModels(await target(opts), modelName(opts.model));
});

withTarget(
  withModel(
    program
      .command('show')
      .description("Print a version's lineage: data, code, image, parameters, metrics, decision."),
  ),
)
  .argument('<version>', 'version number, v<N>, or "latest"')
  .action(async (version: string, opts: TargetOpts & { model: string }) => {
    const t = await target(opts);
    const model = modelName(opts.model);
    await show(t, model, await resolveVersion(t, model, version));
  });

withTarget(
  program.command('predict').description('Send one prediction request to the API and print the response.'),
)
  .option('-m, --model <name>', 'model to call (default: the API default model)')
  .requiredOption('--json <instances>', 'JSON array of instances, or one instance object')
  .option('--api-key <key>', 'API key (deployed stages require one)')
  .action(async (opts: TargetOpts & { model?: string; json: string; apiKey?: string }) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(opts.json);
    } catch (err) {
      throw new CliError(`--json is not valid JSON: ${(err as Error).message}`);
    }
    const t = await target(opts);
    const res = await predict(t.apiUrl, opts.model, Array.isArray(parsed) ? parsed : [parsed], opts.apiKey);
    console.log(`HTTP ${res.status}`);
    console.log(JSON.stringify(res.body, null, 2));
    if (res.status !== 200) process.exitCode = 1;
  });

registerGoldenCommand(program, {
  withTarget,
  withModel,
  lake: async (opts) => (await target(opts as unknown as TargetOpts)).lake,
  deployed: findModel,
});

registerScoreCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    fail(err.message);
  } else {
    fail((err as Error).stack ?? String(err));
  }
  process.exitCode = 1;
}
