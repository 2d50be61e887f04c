/** `mlops predict`: one prediction request to the API, its response printed as it came. */
import type { Command } from 'commander';
import type { CliContext, TargetOptions } from '../context.ts';
import { EXIT_CODES, UsageError } from '../errors.ts';
import { withTarget } from '../options.ts';
import { apiKeyFor } from './keys.ts';

/** The API's answer: its HTTP status and JSON body. */
export interface PredictResponse {
  status: number;
  body: {
    predictions?: { score: number; label: string }[];
    modelVersion?: string;
    requestId?: string;
    error?: string;
    message?: string;
  };
}

/** Posts instances to a model's predict route (the default model's without `model`), with an API key as `x-api-key`. */
export async function predict(
  apiUrl: string,
  model: string | undefined,
  instances: unknown[],
  apiKey?: string,
): Promise<PredictResponse> {
  const path = model ? `/v1/models/${encodeURIComponent(model)}/predict` : '/v1/predict';
  const res = await fetch(`${apiUrl.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    body: JSON.stringify({ instances }),
  });
  return { status: res.status, body: (await res.json()) as PredictResponse['body'] };
}

/**
 * Before `--json` meant JSON output, it took the instances: `predict --json '<instances>'`. That
 * usage leaves the instances as an argument, which is refused naming the new flag.
 */
function checkNoArguments(args: readonly string[]): void {
  if (args.length === 0) return;
  const looksLikeJson = /^\s*[[{]/.test(args[0]!);
  throw new UsageError(
    looksLikeJson
      ? `predict takes the instances with --instances '<json>' (--json now prints the response as JSON): mlops predict --instances '${args[0]}'`
      : `predict takes no arguments, got "${args.join(' ')}"; send the instances with --instances '<json>'.`,
  );
}

/** Parses `--instances`: a JSON array of instances, or one instance object. */
export function parseInstances(text: string | undefined): unknown[] {
  if (text === undefined)
    throw new UsageError(
      `predict needs --instances '<json>': a JSON array of instances, or one instance object.`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--instances is not valid JSON: ${(err as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** Adds `mlops predict`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    program
      .command('predict')
      .description('Send one prediction request to the API and print the response.')
      // Only to refuse the former `--json '<instances>'` usage with a message naming --instances.
      .allowExcessArguments(true),
    context,
  )
    // No default: without --model the request goes to the API's default route, as a client's would.
    .option('-m, --model <name>', 'model to call (default: the API default model)')
    .option('--instances <json>', 'JSON array of instances, or one instance object (required)')
    .option('--client <name>', "send this client's API key (default: the first client's; see `mlops keys`)")
    .option('--api-key <key>', 'send this API key instead of a client’s')
    .option('--json', 'print {"status", "body"} as JSON: the HTTP status and the API’s answer')
    .action(
      async (
        opts: TargetOptions & {
          model?: string;
          instances?: string;
          json?: boolean;
          apiKey?: string;
          client?: string;
        },
        cmd: Command,
      ) => {
        checkNoArguments(cmd.args);
        if (opts.apiKey !== undefined && opts.client !== undefined)
          throw new UsageError('--api-key and --client both name the key to send; give one.');
        const instances = parseInstances(opts.instances);
        const target = await context.target(opts);
        const apiKey = opts.apiKey ?? (await apiKeyFor(target, opts.client)).key;
        const res = await predict(target.apiUrl, opts.model, instances, apiKey);
        if (opts.json) console.log(JSON.stringify(res, null, 2));
        else {
          console.log(`HTTP ${res.status}`);
          console.log(JSON.stringify(res.body, null, 2));
        }
        if (res.status !== 200) process.exitCode = EXIT_CODES.failed;
      },
    );
}
