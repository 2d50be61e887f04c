/**
 * `mlops local up`: synthesize the CDK app (or take an assembly) and boot the twin on loopback, its
 * alarms evaluated and its rules' schedules running; `--fast` synthesizes with the config's short
 * monitoring settings, so the chain drift → alarm → rule → state machine plays out in minutes.
 * The twin keeps its state in a directory (`.mlops-local/` at the project root unless `--state-dir`
 * says otherwise), so a restart, even after a crash, finds the models, the log and the lake as they
 * were; `--reset` starts it empty.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { TwinMonitoringSummary } from '../../contracts/twin-api.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { parsePort, type ServingMode, servingOption } from '../options.ts';
import { bold, dim, info } from '../print.ts';
import { checkLoopbackHost, startTwin } from '../start-twin.ts';

interface UpOptions {
  port: number;
  host: string;
  assembly?: string;
  serving?: ServingMode;
  fast?: boolean;
  stateDir: string;
  reset?: boolean;
}

/** Where `mlops local up` keeps the twin's state unless told otherwise. */
export const DEFAULT_STATE_DIR = join(PROJECT_ROOT, '.mlops-local');

/** What the twin's monitoring emulates, and by logical id what it does not. */
function monitoringLines(m: TwinMonitoringSummary): string[] {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const lines = [
    `${count(m.alarms.emulated.length, 'alarm', 'alarms')}, ${count(m.rules.emulated.length, 'event rule', 'event rules')}, ${count(m.schedules.emulated.length, 'schedule', 'schedules')} emulated`,
  ];
  for (const [what, part] of [
    ['alarm', m.alarms],
    ['rule', m.rules],
    ['schedule', m.schedules],
  ] as const) {
    for (const n of part.notEmulated) lines.push(`not emulated: ${what} ${n.logicalId}: ${n.reason}`);
  }
  for (const w of m.warnings) lines.push(`note: ${w}`);
  return lines;
}

/** A path relative to the working directory when it is under it, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}

/** Adds `mlops local` and its `up` subcommand. */
export function register(program: Command, context: CliContext): void {
  const local = program.command('local').description('The local twin: the whole platform on this machine.');
  local
    .command('up')
    .description('Synthesize the CDK app and boot the twin from it; serve the prediction API on loopback.')
    .addOption(
      new Option('-p, --port <port>', 'port of the prediction API')
        .argParser(parsePort)
        .default(context.twinPort),
    )
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option(
      '--assembly <dir>',
      'boot from this synthesized cloud assembly (e.g. cdk.out of `npx cdk synth`) instead of synthesizing',
    )
    .addOption(servingOption())
    .option(
      '--fast',
      "synthesize with the config's short monitoring settings (fast: true): drift every minute over 10 minutes, alarms on 60 s periods, 1 of 1 datapoints",
    )
    .addOption(
      new Option(
        '--state-dir <dir>',
        "keep the twin's state here (tables, buckets, executions, function log) and carry on from what is there",
      ).default(DEFAULT_STATE_DIR, '.mlops-local/ at the project root'),
    )
    .option('--reset', 'remove the state directory first, so the twin starts empty')
    .action(async (opts: UpOptions) => {
      checkLoopbackHost(opts.host);
      if (opts.assembly && opts.serving) {
        throw new CliError(
          '--serving applies when the twin synthesizes; an --assembly keeps the mode it was synthesized with.',
        );
      }
      if (opts.assembly && opts.fast) {
        throw new CliError(
          '--fast applies when the twin synthesizes; an --assembly keeps the settings it was synthesized with (synthesize it with -c mlops=\'{"fast":true,...}\' instead).',
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
        config: context.config(),
        log: (l) => info(dim(l)),
        ...(opts.assembly ? { assemblyDir: opts.assembly } : {}),
        ...(opts.serving ? { serving: opts.serving } : {}),
        ...(opts.fast ? { fast: true } : {}),
        monitoring: true,
        stateDir: opts.stateDir,
        ...(opts.reset ? { reset: true } : {}),
      });
      console.log(`\n${bold('Local twin ready')} at ${running.url}`);
      info(`prediction API   POST ${running.url}/v1/predict   POST ${running.url}/v1/models/<name>/predict`);
      info('API keys         x-api-key: one per client of the config (npx mlops keys)');
      info(`DynamoDB         ${running.endpoints.dynamodb} (dynalite)`);
      info(`S3               ${running.endpoints.s3} (s3rver)`);
      info(
        `SageMaker        ${running.endpoints.sagemaker} (local endpoints; GET ${running.url}/_twin/endpoints)`,
      );
      info(`function logs    ${running.logFile}`);
      const { executions, cutOff } = running.resumed;
      info(
        `state            ${shownPath(running.stateDir ?? opts.stateDir)} (kept across restarts; --reset to start empty)${
          executions > 0
            ? `: ${executions} earlier execution${executions === 1 ? '' : 's'}${cutOff > 0 ? `, ${cutOff} cut off by a stop (FAILED)` : ''}`
            : ''
        }`,
      );
      const [first, ...rest] = monitoringLines(running.monitoring);
      info(
        `monitoring       ${first} (GET ${running.url}/_twin/alarms, /_twin/schedules)${opts.fast ? ' — fast settings' : ''}`,
      );
      for (const line of rest) info(`                 ${line}`);
      const [covered, ...coverage] = running.coverage;
      info(`coverage         ${covered} (GET ${running.url}/_twin/coverage)`);
      for (const line of coverage) info(`                 ${line}`);
      info(
        `dashboard        ${running.url}/dashboard   (the template's CloudWatch dashboard, and one page per model)`,
      );
      info('try              npx mlops demo      (in another terminal)');
      info('stop             Ctrl-C');
      let stopping = false;
      const shutdown = async () => {
        if (stopping) {
          // The state is written as it changes: quitting now loses nothing but the running executions,
          // which the next start reports as failed.
          info('quitting without waiting');
          process.exit(130);
        }
        stopping = true;
        info('stopping the twin… (Ctrl-C again to quit at once)');
        try {
          await running.stop();
        } catch (err) {
          console.error(`the twin did not stop cleanly: ${(err as Error).message}`);
          process.exit(1);
        }
        info('stopped');
        process.exit(0);
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
}
