/**
 * Only the commands that start a twin load it. `local/` brings dynalite, s3rver and the state
 * machine runner, and synthesis (`lib/synth.ts`) brings the whole CDK app: seconds of start-up that
 * `mlops --help`, or a command acting on a deployed stage, have no use for.
 *
 * How it is proved: the CLI runs in a child process exactly as `bin/mlops.js` runs it (tsx), plus a
 * module loader hook registered with `node:module`'s `register()`. Its `load` hook appends the URL
 * of every module the process loads to a file, whether imported statically or with `await
 * import(...)`, from the project or from a package. The project is ESM (`"type": "module"`), so
 * every module of the project and every package it imports passes through that hook; what a CommonJS
 * package then `require`s does not, which is why the assertions name the packages' entry points
 * (s3rver), which the twin imports, and for dynalite, which the twin starts in a worker thread the
 * hook does not follow, the module that starts it (`local/dynamodb.ts`).
 *
 * The same hook on `local up` with an assembly that cannot be read does list the twin, dynalite and
 * s3rver, so the "not loaded" assertions could fail.
 */
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const projectUrl = pathToFileURL(`${realpathSync('.')}/`).href;

/** Loaded modules that mean a twin or a synthesis was started. */
const TWIN_MODULES: [string, (url: string) => boolean][] = [
  ['local/', (url) => url.startsWith(`${projectUrl}local/`)],
  ['lib/synth.ts', (url) => url === `${projectUrl}lib/synth.ts`],
  // dynalite runs in a thread of its own, which the hook does not see: the module that starts it.
  ['dynalite', (url) => url.includes('/node_modules/dynalite/') || url === `${projectUrl}local/dynamodb.ts`],
  ['s3rver', (url) => url.includes('/node_modules/s3rver/')],
  ['aws-local-stepfunctions', (url) => url.includes('/node_modules/aws-local-stepfunctions/')],
  ['aws-cdk-lib', (url) => url.includes('/node_modules/aws-cdk-lib/')],
];

let dir: string;
let register: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-cli-loading-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      'let log;',
      'export function initialize(data) { log = data.log; }',
      'export async function load(url, context, nextLoad) {',
      "  appendFileSync(log, url + '\\n');",
      '  return nextLoad(url, context);',
      '}',
    ].join('\n'),
  );
  register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    [
      "import { register } from 'node:module';",
      "register(new URL('./hooks.mjs', import.meta.url), { data: { log: process.env.MLOPS_LOADED_LOG } });",
    ].join('\n'),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
  /** URL of every module the process loaded. */
  loaded: string[];
}

/** Runs `mlops <args>` in a child process and returns what it printed and which modules it loaded. */
function mlops(name: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const log = join(dir, `${name}.log`);
  writeFileSync(log, '');
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', register, 'bin/mlops.ts', ...args],
      {
        env: { ...process.env, NO_COLOR: '1', MLOPS_LOADED_LOG: log, ...env },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) =>
      resolve({ code, out, loaded: readFileSync(log, 'utf8').split('\n').filter(Boolean) }),
    );
  });
}

/** Which of {@link TWIN_MODULES} a run loaded. */
const twinModules = (run: Run) =>
  TWIN_MODULES.filter(([, matches]) => run.loaded.some(matches)).map(([name]) => name);

const loadedProjectFile = (run: Run, path: string) => run.loaded.includes(`${projectUrl}${path}`);

describe('what the CLI loads', () => {
  it('`mlops --help` loads every verb, but neither the twin, nor synthesis, nor the AWS SDK', async () => {
    const run = await mlops('help', ['--help']);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain('Usage: mlops [options] [command]');
    // bin/mlops.ts registers every verb module, those of the twin's commands included.
    for (const file of readdirSync('cli/commands')) {
      expect(loadedProjectFile(run, `cli/commands/${file}`), file).toBe(true);
    }
    expect(twinModules(run)).toEqual([]);
    // The SDK clients come with the first target a command asks for.
    expect(run.loaded.filter((url) => url.includes('/node_modules/@aws-sdk/'))).toEqual([]);
  });

  it('`mlops models --stage dev` talks to AWS without loading the twin', async () => {
    // Credentials and a CloudFormation endpoint on a closed loopback port: the command fails fast,
    // after it has loaded everything a stage needs, and reaches no AWS account.
    const run = await mlops('models-stage', ['models', '--stage', 'dev'], {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_MAX_ATTEMPTS: '1',
      AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9',
    });
    expect(run.code, run.out).toBe(1);
    expect(run.out).toContain('Cannot read stack Mlops-dev-Data');
    expect(loadedProjectFile(run, 'cli/target.ts')).toBe(true);
    expect(run.loaded.some((url) => url.includes('/node_modules/@aws-sdk/client-cloudformation/'))).toBe(
      true,
    );
    expect(twinModules(run)).toEqual([]);
    // CloudWatch and Lambda come only with the commands that read alarms or run the drift job.
    expect(
      run.loaded.filter((url) => /\/node_modules\/@aws-sdk\/client-(cloudwatch|lambda)\//.test(url)),
    ).toEqual([]);
  });

  it('`mlops local up` loads the twin when it starts one', async () => {
    const assembly = join(dir, 'unreadable-assembly');
    mkdirSync(assembly);
    writeFileSync(join(assembly, 'manifest.json'), 'not a cloud assembly manifest');
    const run = await mlops('local-up', [
      'local',
      'up',
      '--port',
      '0',
      '--assembly',
      assembly,
      '--state-dir',
      join(dir, 'twin-state'),
    ]);
    expect(run.code, run.out).toBe(1);
    expect(twinModules(run)).toEqual(expect.arrayContaining(['local/', 'dynalite', 's3rver']));
    // An assembly given is booted as it is: nothing is synthesized.
    expect(twinModules(run)).not.toContain('lib/synth.ts');
  });
});
