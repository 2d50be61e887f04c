/**
 * Bundle size and cold import time of every platform function against a "floor": a bundle that only
 * constructs the SDK clients the function constructs, built with the same esbuild settings. The
 * floor is what any function talking to those services costs; the ratio is what the function's own
 * code, adapters, commands, environment schema and observability add on top.
 *
 *   npx tsx bench/cold-start.ts [--runs 31] [--assembly <dir>] [--only predict,canary] [--instructions]
 *
 * 1. Synthesizes the app (default stage config) into a temp dir, as `cdk synth` does, or reads an
 *    existing assembly (`--assembly`).
 * 2. Finds each function's `index.mjs` by the asset path of its `AWS::Lambda::Function`, named by its
 *    `POWERTOOLS_SERVICE_NAME`.
 * 3. Builds the function's handler again with a metafile to learn which SDK clients it constructs (a
 *    client class is in the output only when something references it), and builds its floor.
 * 4. Imports each bundle and its floor in fresh `node` processes, paired and in alternating order, N
 *    times, with the environment the handler parses at init (`contracts/env.ts`: the template's
 *    literal values, placeholders for values CloudFormation resolves at deploy, a valid value for a
 *    required variable the template lacks), and `node -e 0` beside them.
 *
 * Prints one table and exits non-zero when predict misses either 1.15x target.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import * as z from 'zod/mini';
import { type FunctionName, functionEnv } from '../contracts/env.ts';
import { projectConfig } from '../lib/config.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { synthesize } from '../lib/synth.ts';
import { buildFunction, functionBuildOptions, packageBytes } from './function-bundle.ts';

/** The predict function's targets, against its floor. */
const TARGET_RATIO = 1.15;

interface Options {
  runs: number;
  /** Also count predict's import instructions under valgrind (steady where the clock is noisy). */
  instructions: boolean;
  assembly?: string;
  only?: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { runs: 31, instructions: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--runs' && value) {
      options.runs = Number(value);
      if (!Number.isInteger(options.runs) || options.runs < 1) {
        throw new Error(`--runs: expected a positive whole number, got "${value}"`);
      }
      i++;
    } else if (arg === '--assembly' && value) {
      options.assembly = value;
      i++;
    } else if (arg === '--instructions') {
      options.instructions = true;
    } else if (arg === '--only' && value) {
      options.only = value.split(',');
      i++;
    } else {
      throw new Error(
        `Unknown argument "${arg}". Use --runs <n>, --assembly <dir>, --only <name,...>, --instructions.`,
      );
    }
  }
  return options;
}

interface TemplateFunction {
  name: FunctionName;
  bundle: string;
  /** The template's environment: literals as they are, anything CloudFormation resolves as undefined. */
  templateEnv: Record<string, string | undefined>;
}

type Template = {
  Resources?: Record<
    string,
    {
      Type: string;
      Metadata?: Record<string, unknown>;
      Properties?: { Environment?: { Variables?: Record<string, unknown> } };
    }
  >;
};

/** Every platform function of an assembly, by its service name, with its bundle and environment. */
function findFunctions(assembly: string): TemplateFunction[] {
  const found: TemplateFunction[] = [];
  for (const file of readdirSync(assembly).filter((f) => f.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(assembly, file), 'utf8')) as Template;
    for (const [id, res] of Object.entries(template.Resources ?? {})) {
      if (res.Type !== 'AWS::Lambda::Function') continue;
      const vars = res.Properties?.Environment?.Variables ?? {};
      const service = vars.POWERTOOLS_SERVICE_NAME;
      const assetPath = res.Metadata?.['aws:asset:path'];
      if (typeof service !== 'string' || typeof assetPath !== 'string') continue;
      if (!(service in functionEnv)) {
        throw new Error(
          `${file} ${id}: POWERTOOLS_SERVICE_NAME "${service}" has no schema in contracts/env.ts`,
        );
      }
      const bundle = join(assembly, assetPath, 'index.mjs');
      if (!existsSync(bundle)) throw new Error(`${file} ${id} (${service}): no ${bundle}`);
      const templateEnv = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      );
      found.push({ name: service as FunctionName, bundle, templateEnv });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Why each variable fails the function's schema (empty: the environment parses). */
function envProblems(fn: FunctionName, env: Record<string, string>): Map<string, string> {
  const result = z.safeParse(functionEnv[fn], env);
  const problems = new Map<string, string>();
  if (!result.success) {
    for (const issue of result.error.issues) problems.set(String(issue.path[0]), issue.message);
  }
  return problems;
}

/**
 * The environment a function's init parses, built from its template: literal values as they are;
 * values CloudFormation resolves at deploy time (table names, ARNs) and variables the schema
 * requires but the template lacks get the first candidate the schema accepts.
 */
function initEnv(
  fn: TemplateFunction,
  modelNames: string[],
): { env: Record<string, string>; filled: string[] } {
  const env: Record<string, string> = {};
  const filled: string[] = [];
  for (const [key, value] of Object.entries(fn.templateEnv)) {
    // Source maps are measured apart: the floor has none, and whether a stage uploads them is a switch.
    if (key === 'NODE_OPTIONS') continue;
    // CLIENT_KEYS holds the keys' ids, resolved at deploy time: one `<id>=<client>` pair stands in.
    env[key] =
      value ??
      (key === 'CLIENT_KEYS' ? 'bench-key-id=default' : `bench-${key.toLowerCase().replaceAll('_', '-')}`);
  }
  const candidates = (key: string) => [
    ...(key === 'MODEL_NAMES' ? [modelNames.join(',')] : []),
    `bench-${key.toLowerCase().replaceAll('_', '-')}`,
    '1',
    'lambda',
  ];
  for (const [key, message] of envProblems(fn.name, env)) {
    const value = candidates(key).find((c) => !envProblems(fn.name, { ...env, [key]: c }).has(key));
    if (value === undefined) {
      throw new Error(`${fn.name}: no value found for ${key} that contracts/env.ts accepts (${message})`);
    }
    env[key] = value;
    filled.push(`${key}=${value}`);
  }
  const left = envProblems(fn.name, env);
  if (left.size > 0) throw new Error(`${fn.name}: environment still invalid: ${[...left.keys()].join(', ')}`);
  return { env, filled };
}

/** An SDK client a bundle constructs: its package and class. */
interface SdkClient {
  pkg: string;
  name: string;
}

const CLIENT_MODULE =
  /node_modules\/(@aws-sdk\/(?:client-[a-z0-9-]+|lib-dynamodb))\/dist-es\/([A-Za-z0-9]+Client)\.js$/;

/**
 * Builds a function's handler with a metafile and returns the SDK client classes in the output. A
 * client class survives tree shaking only when the handler references it, so this is the set of
 * clients the function constructs. Build constants: the compiled-in models (which only change the
 * size of the functions that read them) and the serving mode, both as the constructs set them.
 */
async function clientsOf(fn: TemplateFunction, define: Record<string, string>, outDir: string) {
  const built = await buildFunction(fn.name, join(outDir, `${fn.name}.mjs`), {
    ...define,
    ...(fn.templateEnv.SERVING_MODE
      ? { __MLOPS_SERVING_MODE__: JSON.stringify(fn.templateEnv.SERVING_MODE) }
      : {}),
  });
  const clients: SdkClient[] = [];
  for (const input of built.inputs.keys()) {
    const match = input.match(CLIENT_MODULE);
    if (match) clients.push({ pkg: match[1]!, name: match[2]! });
  }
  return { clients: clients.sort((a, b) => a.name.localeCompare(b.name)), built };
}

/** The floor's source: construct the clients, export a handler, nothing else. */
function floorSource(clients: SdkClient[]): string {
  const document = clients.some((c) => c.name === 'DynamoDBDocumentClient');
  const lines: string[] = [];
  const made: string[] = [];
  for (const c of clients) {
    if (c.name === 'DynamoDBDocumentClient') {
      lines.push(`import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';`);
      made.push('DynamoDBDocumentClient.from(new DynamoDBClient({}))');
    } else if (c.name === 'DynamoDBClient' && document) {
      lines.push(`import { DynamoDBClient } from '@aws-sdk/client-dynamodb';`);
    } else {
      lines.push(`import { ${c.name} } from '${c.pkg}';`);
      made.push(`new ${c.name}({})`);
    }
  }
  lines.push(`const clients = [${made.join(', ')}];`, 'export const handler = async () => clients.length;');
  return lines.join('\n');
}

async function buildFloor(clients: SdkClient[], outfile: string): Promise<number> {
  await esbuild.build({
    ...functionBuildOptions,
    stdin: { contents: floorSource(clients), resolveDir: PROJECT_ROOT, loader: 'js' },
    outfile,
  });
  return statSync(outfile).size;
}

const RUNNER = `const url = process.argv[2];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(url);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (typeof mod.handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

interface Sample {
  ms: number;
  cpuMs: number;
}

/** Imports a bundle in a fresh node process and returns how long the import took in it. */
function coldImport(runner: string, bundle: string, env: Record<string, string>): Sample {
  const res = spawnSync(process.execPath, [runner, pathToFileURL(bundle).href], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.status !== 0) {
    throw new Error(`Importing ${bundle} failed (exit ${res.status ?? res.signal}):\n${res.stderr.trim()}`);
  }
  return JSON.parse(res.stdout) as Sample;
}

/**
 * Instructions a fresh node process executes to import a bundle (valgrind's callgrind count, less
 * the count for an empty module): on a shared machine the clock moves with other jobs' load, this
 * count hardly does. About 15 s per bundle.
 */
function importInstructions(runner: string, bundle: string, empty: string, env: Record<string, string>) {
  const count = (file: string) => {
    const res = spawnSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        process.execPath,
        runner,
        pathToFileURL(file).href,
      ],
      { env, encoding: 'utf8', timeout: 600_000 },
    );
    const match = res.stderr?.match(/I\s+refs:\s+([\d,]+)/);
    if (res.status !== 0 || !match) {
      throw new Error(
        `valgrind could not count ${file} (is valgrind installed?):\n${res.stderr ?? res.error}`,
      );
    }
    return Number(match[1]!.replaceAll(',', ''));
  };
  return count(bundle) - count(empty);
}

function processWall(args: string[], env: Record<string, string>): number {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, args, { env, timeout: 60_000 });
  if (res.status !== 0) throw new Error(`node ${args.join(' ')} failed`);
  return performance.now() - t0;
}

/**
 * The median over rounds of bundle ÷ floor, each pair imported back to back: the machine's load
 * changes between rounds, and a pair shares it, so the ratio moves less than the two medians do.
 */
function pairedRatio(bundle: Sample[], floor: Sample[], key: keyof Sample): number {
  return median(bundle.map((sample, i) => sample[key] / floor[i]![key]));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Row {
  name: FunctionName;
  clients: SdkClient[];
  bytes: number;
  floorBytes: number;
  bundle: Sample[];
  floor: Sample[];
  filled: string[];
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'mlops-cold-start-'));
  try {
    const config = projectConfig();
    let assembly = options.assembly;
    if (!assembly) {
      assembly = join(work, 'assembly');
      process.stderr.write(`Synthesizing stage ${config.stage} into ${assembly} ...\n`);
      synthesize(assembly, config);
    }
    let functions = findFunctions(assembly);
    if (options.only) functions = functions.filter((f) => options.only!.includes(f.name));
    if (functions.length === 0) throw new Error(`No platform functions found in ${assembly}`);

    // The models as the constructs compile them in (only the functions that read them use it).
    const define = {
      __MLOPS_MODELS_B64__: JSON.stringify(Buffer.from(JSON.stringify(config.models)).toString('base64')),
    };
    const runner = join(work, 'runner.mjs');
    writeFileSync(runner, RUNNER);
    const baseEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      // Node 20 only: the SDK warns at client construction that later releases need Node 22.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    const rows: Row[] = [];
    const envs = new Map<FunctionName, Record<string, string>>();
    const floors = new Map<FunctionName, string>();
    for (const fn of functions) {
      const { clients, built } = await clientsOf(fn, define, join(work, 'rebuilt'));
      const rebuilt = built.bytes;
      const shipped = statSync(fn.bundle).size;
      if (Math.abs(rebuilt - shipped) > shipped * 0.01) {
        // The clients are read from this build: a different size means different build constants.
        process.stderr.write(
          `note: ${fn.name}: rebuilt handler is ${rebuilt} bytes, the synthesized one ${shipped}; its SDK clients are read from the rebuild\n`,
        );
      }
      if (fn.name === 'predict' && fn.templateEnv.SERVING_MODE === 'lambda') {
        const runtime = packageBytes(built, '@aws-sdk/client-sagemaker-runtime');
        if (runtime > 0) {
          throw new Error(
            `predict (serving mode lambda) bundles ${runtime} bytes of the SageMaker runtime client; the build constant must drop it`,
          );
        }
      }
      const floorFile = join(work, 'floors', `${fn.name}.mjs`);
      const floorBytes = await buildFloor(clients, floorFile);
      const { env, filled } = initEnv(
        fn,
        config.models.map((m) => m.name),
      );
      envs.set(fn.name, { ...baseEnv, ...env });
      floors.set(fn.name, floorFile);
      rows.push({ name: fn.name, clients, bytes: shipped, floorBytes, bundle: [], floor: [], filled });
    }

    const baseline: number[] = [];
    process.stderr.write(
      `Cold imports: ${options.runs} rounds x ${rows.length} functions x (bundle + floor)\n`,
    );
    for (let round = 0; round < options.runs; round++) {
      baseline.push(processWall(['-e', '0'], baseEnv));
      for (const row of rows) {
        const fn = functions.find((f) => f.name === row.name)!;
        const env = envs.get(row.name)!;
        // Paired and in alternating order, so the machine's load drifts over both alike.
        if (round % 2 === 0) {
          row.bundle.push(coldImport(runner, fn.bundle, env));
          row.floor.push(coldImport(runner, floors.get(row.name)!, env));
        } else {
          row.floor.push(coldImport(runner, floors.get(row.name)!, env));
          row.bundle.push(coldImport(runner, fn.bundle, env));
        }
      }
      process.stderr.write(`  round ${round + 1}/${options.runs}\n`);
    }

    const kB = (bytes: number) => (bytes / 1000).toFixed(1);
    const ms = (value: number) => value.toFixed(1);
    const header = [
      'function',
      'SDK clients',
      'bundle kB',
      'floor kB',
      'ratio',
      'import ms',
      'floor ms',
      'ratio',
    ];
    const table = rows.map((row) => {
      const importMs = median(row.bundle.map((s) => s.ms));
      const floorMs = median(row.floor.map((s) => s.ms));
      return [
        row.name,
        row.clients
          .filter(
            (c) =>
              !(c.name === 'DynamoDBClient' && row.clients.some((d) => d.name === 'DynamoDBDocumentClient')),
          )
          .map((c) => c.name.replace(/Client$/, ''))
          .join(' + '),
        kB(row.bytes),
        kB(row.floorBytes),
        `${(row.bytes / row.floorBytes).toFixed(3)}x`,
        ms(importMs),
        ms(floorMs),
        `${pairedRatio(row.bundle, row.floor, 'ms').toFixed(3)}x`,
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `Cold start: ${rows.length} functions of stage ${config.stage}, Node ${process.version}, ${cpus().length} x ${cpuModel}`,
    );
    console.log(
      `medians of ${options.runs} fresh node processes each, import ratio = median of the back-to-back pairs' ratios; kB = 1000 bytes\n`,
    );
    console.log(line(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of table) console.log(line(r));
    console.log(`\nnode -e 0 (process start to exit): ${ms(median(baseline))} ms`);
    const filled = rows.filter((r) => r.filled.length > 0);
    for (const r of filled)
      console.log(`env not in the template, set by the bench: ${r.name}: ${r.filled.join(', ')}`);

    const predict = rows.find((r) => r.name === 'predict');
    if (!predict) return;
    const bytesRatio = predict.bytes / predict.floorBytes;
    const importRatio = pairedRatio(predict.bundle, predict.floor, 'ms');
    const cpuRatio = pairedRatio(predict.bundle, predict.floor, 'cpuMs');
    const ofMedians = median(predict.bundle.map((s) => s.ms)) / median(predict.floor.map((s) => s.ms));
    const verdict = (ratio: number) => (ratio <= TARGET_RATIO ? 'met' : 'MISSED');
    console.log(
      `\npredict bundle: ${kB(predict.bytes)} kB = ${bytesRatio.toFixed(3)}x its floor (target <= ${TARGET_RATIO}x: ${verdict(bytesRatio)})`,
    );
    console.log(
      `predict cold import: ${importRatio.toFixed(3)}x its floor (target <= ${TARGET_RATIO}x: ${verdict(importRatio)}); ratio of the medians ${ofMedians.toFixed(3)}x, CPU time ${cpuRatio.toFixed(3)}x`,
    );
    if (options.instructions) {
      const empty = join(work, 'empty.mjs');
      writeFileSync(empty, 'export const handler = async () => 0;\n');
      const fn = functions.find((f) => f.name === 'predict')!;
      const env = envs.get('predict')!;
      const bundle = importInstructions(runner, fn.bundle, empty, env);
      const floor = importInstructions(runner, floors.get('predict')!, empty, env);
      console.log(
        `predict import instructions (callgrind, one run each): ${(bundle / 1e6).toFixed(1)} M vs floor ${(floor / 1e6).toFixed(1)} M = ${(bundle / floor).toFixed(3)}x`,
      );
    }
    if (bytesRatio > TARGET_RATIO || importRatio > TARGET_RATIO) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
