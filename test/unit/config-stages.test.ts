import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../cli/context.ts';
import { buildConfig, deepMerge, projectConfig, resolveSettings } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { MODELS, problems } from '../support/config.ts';

const credit = MODELS.find((m) => m.name === 'credit')!;

/** Defaults plus a `prod` block that changes platform and model settings. */
function raw(stage: string, prod: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    stage,
    trainingInstanceType: 'ml.m5.xlarge',
    ...extra,
    stages: {
      prod: {
        trainingInstanceType: 'ml.g5.2xlarge',
        serving: { instanceCount: 3 },
        clients: [{ name: 'mobile', rateLimit: 500, burstLimit: 1000 }],
        models: { credit: { promotion: { approval: 'auto' }, alarms: { latencyP99Ms: 250 } } },
        ...prod,
      },
    },
  };
}

describe('deepMerge', () => {
  it('merges objects key by key and replaces arrays and scalars whole', () => {
    expect(
      deepMerge(
        { a: 1, nested: { x: 1, y: 2 }, list: [1, 2, 3], keep: 'k' },
        { a: 2, nested: { y: 3, z: 4 }, list: [9] },
      ),
    ).toEqual({ a: 2, nested: { x: 1, y: 3, z: 4 }, list: [9], keep: 'k' });
  });

  it('leaves the inputs unchanged and keeps the base where the override has nothing', () => {
    const base = { nested: { x: 1 } };
    const merged = deepMerge(base, { nested: { x: 2 } });
    expect(base).toEqual({ nested: { x: 1 } });
    expect(merged).toEqual({ nested: { x: 2 } });
    expect(deepMerge(base, undefined)).toBe(base);
  });
});

describe('stage overrides (mlops.stages.<stage>)', () => {
  it("gives the selected stage its block's platform settings, deep-merged over the defaults", () => {
    const prod = buildConfig(raw('prod'), MODELS);
    expect(prod.stage).toBe('prod');
    expect(prod.trainingInstanceType).toBe('ml.g5.2xlarge');
    // Deep merge: the other serving settings keep their defaults.
    expect(prod.serving).toMatchObject({ mode: 'lambda', instanceType: 'ml.m5.large', instanceCount: 3 });
    expect(prod.clients).toEqual([{ name: 'mobile', rateLimit: 500, burstLimit: 1000 }]);
    expect(prod.removalPolicy).toBe('retain');
  });

  it('gives a stage without a block the defaults', () => {
    const dev = buildConfig(raw('dev'), MODELS);
    expect(dev.stage).toBe('dev');
    expect(dev.trainingInstanceType).toBe('ml.m5.xlarge');
    expect(dev.serving.instanceCount).toBe(1);
    expect(dev.clients).toEqual([{ name: 'default', rateLimit: 50, burstLimit: 100 }]);
    expect(dev.models[0]).toEqual(credit);
  });

  it("deep-merges a stage's model block over the model's file, for that stage only", () => {
    const prod = buildConfig(raw('prod'), MODELS).models.find((m) => m.name === 'credit')!;
    expect(prod.promotion.approval).toBe('auto');
    expect(prod.alarms).toEqual({ ...credit.alarms, latencyP99Ms: 250 });
    expect(prod.promotion.canary).toEqual(credit.promotion.canary);
    expect(prod.spec).toEqual(credit.spec);
    expect(buildConfig(raw('dev'), MODELS).models.find((m) => m.name === 'credit')!.promotion.approval).toBe(
      credit.promotion.approval,
    );
  });

  it("applies fast after the stage's overrides", () => {
    const prod = buildConfig(raw('prod', { fast: true }), MODELS).models[0]!;
    expect(prod.drift.scheduleMinutes).toBe(1);
    expect(prod.alarms.latencyP99Ms).toBe(250);
  });

  it("makes cdk.json's prod differ from dev in platform and model settings", () => {
    const dev = projectConfig('dev');
    const prod = projectConfig('prod');
    expect(dev.stage).toBe('dev');
    expect(prod.trainingInstanceType).not.toBe(dev.trainingInstanceType);
    expect(prod.serving.instanceCount).toBeGreaterThan(dev.serving.instanceCount);
    expect(prod.clients[0]!.rateLimit).toBeGreaterThan(dev.clients[0]!.rateLimit);
    const budget = (c: typeof dev) => c.models.find((m) => m.name === 'credit')!.alarms.latencyP99Ms;
    expect(budget(prod)).toBeLessThan(budget(dev));
    expect(prod.models.find((m) => m.name === 'credit')!.promotion.approval).toBe('manual');
  });
});

describe('stage validation', () => {
  it('fails on an unknown stage key, naming mlops.stages.<stage>.<key> and the allowed keys', () => {
    const message = problems(raw('dev', { trainingInstanceTyp: 'ml.g5.xlarge' }));
    expect(message).toMatch(/^Invalid platform config in cdk\.json context "mlops":/);
    expect(message).toMatch(
      /- mlops\.stages\.prod\.trainingInstanceTyp: unknown key; allowed: .*trainingInstanceType.*, models$/m,
    );
    expect(message).not.toMatch(/allowed: stage,|, stage,/);
  });

  it('fails on an unknown nested key with the keys allowed there', () => {
    expect(problems(raw('dev', { serving: { instanceCont: 2 } }))).toMatch(
      /- mlops\.stages\.prod\.serving\.instanceCont: unknown key; allowed: mode, instanceType, instanceCount, /,
    );
  });

  it('fails on a bad value, naming its path in the stage and what is allowed', () => {
    const message = problems(raw('dev', { serving: { instanceCount: 40 }, trainingInstanceType: 'g5' }));
    expect(message).toMatch(
      /- mlops\.stages\.prod\.serving\.instanceCount: Too big: expected number to be <=10/,
    );
    expect(message).toMatch(
      /- mlops\.stages\.prod\.trainingInstanceType: must be a SageMaker instance type such as ml\.g5\.xlarge/,
    );
  });

  it('fails on a bad value in a list, with its index', () => {
    expect(problems(raw('dev', { clients: [{ name: 'Mobile', rateLimit: 1 }] }))).toMatch(
      /- mlops\.stages\.prod\.clients\.0\.name: must be 1-32 lower-case letters/,
    );
  });

  it('fails on an unknown model name, listing the models', () => {
    expect(problems(raw('prod', { models: { fraud: { alarms: { latencyP99Ms: 100 } } } }))).toMatch(
      /- mlops\.stages\.prod\.models\.fraud: no models\/fraud\.json; the models are credit/,
    );
  });

  it("fails on a bad model setting, naming its path in the stage's model block", () => {
    const message = problems(
      raw('dev', {
        models: {
          credit: { promotion: { approval: 'sometimes' }, alarm: {}, training: { goldenFraction: 0.75 } },
        },
      }),
    );
    expect(message).toMatch(
      /- mlops\.stages\.prod\.models\.credit\.promotion\.approval: Invalid option: expected one of "manual"\|"auto"/,
    );
    expect(message).toMatch(
      /- mlops\.stages\.prod\.models\.credit\.alarm: unknown key; allowed: description, training, /,
    );
    // A rule across keys: the file's validationFraction plus the stage's goldenFraction.
    expect(message).toMatch(
      /- mlops\.stages\.prod\.models\.credit\.training\.goldenFraction: validationFraction \+ goldenFraction must leave/,
    );
  });

  it("fails on a stage's model spec or name, and on a stage key inside a block", () => {
    const message = problems(raw('dev', { stage: 'live', models: { credit: { spec: {}, name: 'x' } } }));
    expect(message).toMatch(/- mlops\.stages\.prod\.stage: the block's name is the stage; remove the key/);
    expect(message).toMatch(
      /- mlops\.stages\.prod\.models\.credit\.spec: is the same in every stage; change it in models\/credit\.json/,
    );
    expect(message).toMatch(/- mlops\.stages\.prod\.models\.credit\.name: is the same in every stage/);
  });

  it('fails on a stage name that is not one, and on blocks that are not objects', () => {
    expect(problems({ stage: 'dev', stages: { Prod_1: {} } })).toMatch(
      /- mlops\.stages\.Prod_1: stage name must be 1-16 lower-case letters/,
    );
    expect(problems({ stage: 'dev', stages: { prod: 'big' } })).toMatch(
      /- mlops\.stages\.prod: must be an object of settings, got "big"/,
    );
    expect(problems({ stage: 'dev', stages: ['prod'] })).toMatch(
      /- mlops\.stages: must be an object of stage blocks/,
    );
    expect(problems({ stage: 'dev', stages: { prod: { models: { credit: 3 } } } })).toMatch(
      /- mlops\.stages\.prod\.models\.credit: must be an object of settings, got 3/,
    );
  });

  it("fails on a stage's defaultModel with no file", () => {
    expect(problems(raw('dev', { defaultModel: 'fraud' }))).toMatch(
      /- mlops\.stages\.prod\.defaultModel: "fraud" has no models\/fraud\.json \(models: credit\)/,
    );
  });

  it('checks every stage on every build: a mistake in prod fails the dev config', () => {
    expect(() => buildConfig(raw('dev'), MODELS)).not.toThrow();
    expect(problems(raw('dev', { predictionLogShards: 0 }))).toMatch(
      /- mlops\.stages\.prod\.predictionLogShards: Too small/,
    );
  });

  it("lists a problem of the defaults once, under its own key, not again for each stage's block", () => {
    const message = problems({
      stage: 'dev',
      predictionLogShards: -1,
      stages: { prod: { fast: true }, staging: { fast: false } },
    });
    expect(message.split('\n').filter((l) => l.includes('predictionLogShards'))).toEqual([
      '  - predictionLogShards: Too small: expected number to be >=1',
    ]);
  });

  it('lists every problem of every stage, platform and model settings, in one message', () => {
    const message = problems({
      stage: 'dev',
      stages: {
        prod: { serving: { mode: 'gpu' }, models: { credit: { alarms: { latencyP99Ms: -5 } } } },
        staging: { fast: 'yes' },
      },
    });
    expect(message).toMatch(/- mlops\.stages\.prod\.models\.credit\.alarms\.latencyP99Ms: Too small/);
    expect(message).toMatch(
      /- mlops\.stages\.prod\.serving\.mode: Invalid option: expected one of "lambda"\|"endpoint"/,
    );
    expect(message).toMatch(
      /- mlops\.stages\.staging\.fast: Invalid input: expected boolean, received string/,
    );
  });
});

describe('the CLI reads the same overrides', () => {
  const cdkContext = () => ({ mlops: raw('prod', { fast: true }) });

  it("settings() and config() give the stage's settings and models", () => {
    const context = createContext({}, { cdkContext });
    expect(context.settings()).toMatchObject({
      stage: 'prod',
      fast: true,
      trainingInstanceType: 'ml.g5.2xlarge',
    });
    expect(context.config().models[0]!.alarms.latencyP99Ms).toBe(250);
    expect(context.definition('credit')!.promotion.approval).toBe('auto');
  });

  it('refuses a bad stage block with the same message, as a CliError', () => {
    const context = createContext(
      {},
      { cdkContext: () => ({ mlops: raw('dev', { serving: { instanceCount: 0 } }) }) },
    );
    expect(() => context.settings()).toThrow(/- mlops\.stages\.prod\.serving\.instanceCount: Too small/);
    expect(() => context.settings()).toThrow(expect.objectContaining({ name: 'CliError' }));
  });

  it("definition(name, stage) gives the named stage's model, as `ingest --stage` stores it with the data", () => {
    const context = createContext({}, { cdkContext: () => ({ mlops: raw('dev') }) });
    expect(context.definition('credit')!.promotion.approval).toBe(credit.promotion.approval);
    expect(context.definition('credit', 'prod')!.promotion.approval).toBe('auto');
    expect(context.definition('credit', 'prod')!.alarms.latencyP99Ms).toBe(250);
    expect(context.definition('credit', 'staging')).toEqual(credit);
  });

  it('definition(name, stage) reads that file alone when another model file is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-stage-models-'));
    try {
      copyFileSync(join(MODELS_DIR, 'credit.json'), join(dir, 'credit.json'));
      writeFileSync(join(dir, 'broken.json'), '{ not json');
      const mlops = raw('dev', {
        defaultModel: 'broken',
        models: { credit: { alarms: { latencyP99Ms: 250 } }, broken: { alarms: { latencyP99Ms: 9 } } },
      });
      const context = createContext({}, { cdkContext: () => ({ mlops }), modelsDir: dir });
      expect(() => context.config()).toThrow(/models\/broken\.json is not valid JSON/);
      expect(context.definition('credit', 'prod')!.alarms.latencyP99Ms).toBe(250);
      expect(context.definition('credit')!.alarms.latencyP99Ms).toBe(credit.alarms.latencyP99Ms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolveSettings needs no model files', () => {
    expect(resolveSettings(raw('prod')).settings.serving.instanceCount).toBe(3);
    expect(Object.keys(resolveSettings(raw('dev')).stages)).toEqual(['prod']);
  });
});
