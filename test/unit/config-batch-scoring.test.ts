import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../lib/config.ts';
import { MODELS, problems } from '../support/config.ts';

describe('batchScoring settings', () => {
  it('default to 10 children at once', () => {
    expect(buildConfig({ stage: 'dev' }, MODELS).batchScoring).toEqual({ maxConcurrency: 10 });
  });

  it("take a stage's block key by key over the defaults", () => {
    const raw = {
      stage: 'prod',
      batchScoring: { maxConcurrency: 50 },
      stages: { prod: { batchScoring: { maxConcurrency: 200 } } },
    };
    expect(buildConfig(raw, MODELS).batchScoring).toEqual({ maxConcurrency: 200 });
    expect(buildConfig({ ...raw, stage: 'dev' }, MODELS).batchScoring).toEqual({ maxConcurrency: 50 });
  });

  it('refuse counts that are not whole numbers in range, and unknown keys, naming each', () => {
    const message = problems({
      stage: 'dev',
      batchScoring: { maxConcurrency: 0 },
      stages: { prod: { batchScoring: { maxConcurrency: 20_000, maxItems: 10 } } },
    });
    expect(message).toMatch(/- batchScoring\.maxConcurrency: Too small: expected number to be >=1/);
    expect(message).toMatch(
      /- mlops\.stages\.prod\.batchScoring\.maxConcurrency: Too big: expected number to be <=10000/,
    );
    expect(message).toMatch(
      /- mlops\.stages\.prod\.batchScoring\.maxItems: unknown key; allowed: maxConcurrency/,
    );
  });
});
