/**
 * The verbs of the operator CLI, in-process: every module under cli/commands registers its verb
 * with a help text, and a bad option value or argument is refused with a message naming the flag
 * and the value, before any twin or stage is asked.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CliContext, createContext } from '../../cli/context.ts';
import { CliError } from '../../cli/errors.ts';

const VERB_FILES = readdirSync('cli/commands')
  .filter((f) => f.endsWith('.ts'))
  .sort();

interface VerbModule {
  register(program: Command, context: CliContext): void;
}

const modules = await Promise.all(
  VERB_FILES.map(
    async (f) => [f, (await import(pathToFileURL(resolve('cli/commands', f)).href)) as VerbModule] as const,
  ),
);

/** How often a command asked for its target. */
let targetCalls = 0;
const context: CliContext = {
  ...createContext({}),
  target: async () => {
    targetCalls++;
    throw new Error('this test gives no target');
  },
};

function program(out: { text: string }): Command {
  const p = new Command()
    .name('mlops')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out.text += s), writeErr: (s) => (out.text += s) });
  for (const [, m] of modules) m.register(p, context);
  return p;
}

/** Runs `mlops <args>` in-process; returns the error it ended with and what it wrote. */
async function mlops(...args: string[]): Promise<{ error: unknown; out: string }> {
  const out = { text: '' };
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await program(out).parseAsync(['node', 'mlops', ...args]);
    return { error: undefined, out: out.text };
  } catch (error) {
    return { error, out: out.text };
  } finally {
    log.mockRestore();
  }
}

/** Every command path that runs something: `train`, `local up`, `golden set`, ... */
function leaves(cmd: Command, path: string[] = []): string[][] {
  if (cmd.commands.length === 0) return [path];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('the verb modules', () => {
  it('each exports one register function that adds exactly one top-level command', () => {
    for (const [file, m] of modules) {
      expect(typeof m.register, file).toBe('function');
      const p = new Command();
      m.register(p, context);
      expect(
        p.commands.map((c) => c.name()),
        file,
      ).toHaveLength(1);
    }
  });

  it('together make the commands the README documents', () => {
    const names = program({ text: '' }).commands.map((c) => c.name());
    expect(names.sort()).toEqual([
      'demo',
      'drift',
      'golden',
      'ingest',
      'keys',
      'local',
      'models',
      'predict',
      'promote',
      'rollback',
      'score',
      'score-batch',
      'show',
      'spec',
      'status',
      'train',
    ]);
    expect(leaves(program({ text: '' })).map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['local up', 'spec infer', 'golden set', 'golden show']),
    );
  });

  it('every command has --help with its usage, description and options', async () => {
    for (const path of leaves(program({ text: '' }))) {
      const { error, out } = await mlops(...path, '--help');
      expect((error as CommanderError).code, path.join(' ')).toBe('commander.helpDisplayed');
      expect(out).toContain(`Usage: mlops ${path.join(' ')} [options]`);
      expect(out).toContain('-h, --help');
    }
    expect(targetCalls).toBe(0);
  });

  it('shows the defaults: the config default model, the twin URL', async () => {
    const { out } = await mlops('train', '--help');
    expect(out).toContain(`(default: "${context.config().defaultModel}")`);
    expect(out).toContain('(default: "http://127.0.0.1:3000")');
  });
});

describe('bad flags and arguments are refused, naming the flag and the value', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlops-cli-verbs-'));
    targetCalls = 0;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    // Each was refused before the command asked for a twin or a stage.
    expect(targetCalls).toBe(0);
  });

  it.each([
    [
      ['train', '--seed', '-1'],
      `option '--seed <n>' argument '-1' is invalid. must be a non-negative integer`,
    ],
    [['train', '--seed', '1.5'], `argument '1.5' is invalid`],
    [['local', 'up', '--port', '70000'], `option '-p, --port <port>' argument '70000' is invalid`],
    [['demo', '--port', 'x'], `option '-p, --port <port>' argument 'x' is invalid`],
    [
      ['demo', '--serving', 'gpu'],
      `option '--serving <mode>' argument 'gpu' is invalid. Allowed choices are lambda, endpoint.`,
    ],
    [['spec', 'infer', 'data.csv'], `required option '--label <column>' not specified`],
    [['score', '--input', 'x.csv'], `required option '--model <model.json>' not specified`],
    [['show'], `missing required argument 'version'`],
    [['models', '--bogus'], `unknown option '--bogus'`],
    [['rollback', '--to', 'two', '--reason', 'x'], `option '--to <version>' argument 'two' is invalid`],
    [['rollback', '--to', '0', '--reason', 'x'], `argument '0' is invalid. must be a version number`],
    [['drift', '--window', '0'], `option '--window <minutes>' argument '0' is invalid`],
    [['drift', '--window', '20000'], 'must be a whole number of minutes from 1 to 10080, got "20000"'],
    [['status', '--actions', '-3'], `option '--actions <n>' argument '-3' is invalid`],
  ])('mlops %j', async (args, message) => {
    const { error, out } = await mlops(...args);
    expect(error).toBeInstanceOf(CommanderError);
    expect(out).toContain(message);
  });

  it.each([
    [['models', '--model', 'Bad'], '--model "Bad" is not a model name'],
    [['golden', 'show', '--model', 'no_underscores'], '--model "no_underscores" is not a model name'],
    [['show', 'abc'], 'Version must be a positive integer, "v<N>" or "latest"; got "abc"'],
    [['promote', 'v0'], 'got "v0"'],
    [['promote', '2', '--force'], '--force needs --reason'],
    [['rollback'], '--reason "..." is required and must not be blank'],
    [['rollback', '--reason', '   '], '--reason "..." is required and must not be blank'],
    [['status', '--model', 'Credit'], '--model "Credit" is not a model name'],
    [['drift', '--model', 'a_b'], '--model "a_b" is not a model name'],
    [['predict'], "predict needs --instances '<json>'"],
    [['predict', '--instances', '{'], '--instances is not valid JSON'],
    [
      ['predict', '--json', '{"Age":30}'],
      `predict takes the instances with --instances '<json>' (--json now prints the response as JSON): mlops predict --instances '{"Age":30}'`,
    ],
    [
      ['predict', '--instances', '{}', '--api-key', 'k', '--client', 'web'],
      '--api-key and --client both name the key to send; give one.',
    ],
    [['ingest', 'data.csv', '--model', 'nosuch'], 'Unknown model "nosuch". Models are the files in models/:'],
    [
      ['ingest', 'data.csv', '--spec', 'models/credit.json', '--model', 'other'],
      '--model "other" differs from the name "credit" in models/credit.json',
    ],
    [
      ['ingest', 'data.csv', '--spec', 'no-such-file.json'],
      'Cannot read the model definition no-such-file.json',
    ],
    [['local', 'up', '--host', '0.0.0.0'], '--host must be a loopback address'],
    [
      ['local', 'up', '--assembly', '.', '--serving', 'lambda'],
      '--serving applies when the twin synthesizes',
    ],
    [
      ['local', 'up', '--assembly', 'pipelines'],
      '--assembly pipelines is not a cloud assembly (no manifest.json)',
    ],
  ])('mlops %j', async (args, message) => {
    const { error } = await mlops(...args);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toContain(message);
  });

  it('spec infer does not overwrite an existing definition without --force', async () => {
    const { error } = await mlops(
      'spec',
      'infer',
      'data/credit_data.csv',
      '--label',
      'Status',
      '--out',
      'models/credit.json',
    );
    expect((error as CliError).message).toBe(
      'models/credit.json exists; pass --force to overwrite it or --out <file>.',
    );
  });
});
