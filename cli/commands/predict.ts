/** `mlops predict`: one prediction request to the API, its response printed as it came. */
import type { Command } from 'commander';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError } from '../errors.ts';
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

/** Adds `mlops predict`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    program.command('predict').description('Send one prediction request to the API and print the response.'),
    context,
  )
    // No default: without --model the request goes to the API's default route, as a client's would.
    .option('-m, --model <name>', 'model to call (default: the API default model)')
    .requiredOption('--json <instances>', 'JSON array of instances, or one instance object')
    .option('--client <name>', "send this client's API key (default: the first client's; see `mlops keys`)")
    .option('--api-key <key>', 'send this API key instead of a client’s')
    .action(
      async (opts: TargetOptions & { model?: string; json: string; apiKey?: string; client?: string }) => {
        if (opts.apiKey !== undefined && opts.client !== undefined)
          throw new CliError('--api-key and --client both name the key to send; give one.');
        let parsed: unknown;
        try {
          parsed = JSON.parse(opts.json);
        } catch (err) {
          throw new CliError(`--json is not valid JSON: ${(err as Error).message}`);
        }
        const target = await context.target(opts);
        const apiKey = opts.apiKey ?? (await apiKeyFor(target, opts.client)).key;
        const res = await predict(
          target.apiUrl,
          opts.model,
          Array.isArray(parsed) ? parsed : [parsed],
          apiKey,
        );
        console.log(`HTTP ${res.status}`);
        console.log(JSON.stringify(res.body, null, 2));
        if (res.status !== 200) process.exitCode = 1;
      },
    );
}
