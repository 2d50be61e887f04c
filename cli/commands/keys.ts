/**
 * `mlops keys`: the API key of each client of the prediction API, which the API requires as
 * `x-api-key`. For a deployed stage they come from API Gateway (the keys named
 * `mlops-<stage>--client-<client>`); for the twin, from the keys it issued when it started.
 */
import type { Command } from 'commander';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { withTarget } from '../options.ts';
import { table } from '../print.ts';
import type { Target } from '../target.ts';

/**
 * The keys of the target's clients, or only `client`'s: a client the target has no key for is a
 * CliError naming the clients it has.
 */
export async function clientKeys(target: Target, client?: string): Promise<TwinApiKey[]> {
  const keys = await target.apiKeys();
  if (client === undefined) return keys;
  const found = keys.filter((k) => k.client === client);
  if (found.length === 0) {
    const known = keys.map((k) => k.client);
    throw new UsageError(
      `--client "${client}" is not a client of the ${target.description}; ${known.length > 0 ? `its clients: ${known.join(', ')}` : 'it has no client keys'} (the config's \`clients\`).`,
    );
  }
  return found;
}

/**
 * The key a command sends to the prediction API: `client`'s, else the first client's. A target
 * with no client key is a CliError (the API would refuse every request with 403).
 */
export async function apiKeyFor(target: Target, client?: string): Promise<TwinApiKey> {
  const [key] = await clientKeys(target, client);
  if (!key) {
    throw new CliError(
      `The ${target.description} has no API client key, and its prediction API requires one. Declare clients in the config (\`clients\`) and deploy.`,
    );
  }
  return key;
}

/** Adds `mlops keys`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    program
      .command('keys')
      .description(
        "Print the prediction API key of each client (clients send it as x-api-key): the deployed stage's, from API Gateway, or the twin's.",
      ),
    context,
  )
    .option('--client <name>', 'print only this client’s key')
    .option('--json', 'print [{"client", "key"}] as JSON')
    .action(async (opts: TargetOptions & { client?: string; json?: boolean }) => {
      const target = await context.target(opts);
      const keys = await clientKeys(target, opts.client);
      if (opts.json) {
        console.log(JSON.stringify(keys.map(({ client, key }) => ({ client, key }))));
        return;
      }
      if (keys.length === 0) {
        console.log(`The ${target.description} has no API client keys.`);
        return;
      }
      console.log(table([['CLIENT', 'KEY'], ...keys.map((k) => [k.client, k.key])]));
    });
}
