import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import type { ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import { runDriftJob } from '../../lambdas/drift-job/core.ts';
import { credit } from '../support/fixtures.ts';

const baseline = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100];

function deps(scores: number[], alias: ProductionAlias | undefined) {
  const published: { model: string; psi: number; samples: number }[] = [];
  const lake = {
    getText: async (key: string) => {
      if (key !== 'eval.json') throw new Error(`unexpected key ${key}`);
      return JSON.stringify({ scoreHistogram: baseline });
    },
  } as unknown as ObjectStore;
  const rows = scores.map(
    (score, i) => ({ model: 'credit', modelVersion: 3, score, index: i }) as unknown as PredictionRecord,
  );
  return {
    published,
    deps: {
      registry: {
        getAlias: async () => alias,
        getVersion: async () =>
          ({ version: 3, artifacts: { evaluation: 'eval.json' } }) as unknown as ModelVersion,
      },
      lake,
      readWindow: async () => rows,
      publish: (model: string, psi: number, samples: number) => published.push({ model, psi, samples }),
      clock: { now: () => new Date('2026-01-01T12:00:00Z') },
    },
  };
}

const alias: ProductionAlias = { model: 'credit', current: 3, history: [], updatedAt: '' };

describe('drift job', () => {
  it('publishes a small PSI when served scores look like the training baseline', async () => {
    const { deps: d, published } = deps(
      Array.from({ length: 1000 }, (_, i) => (i % 10) / 10 + 0.05),
      alias,
    );
    const [result] = await runDriftJob({}, [credit], d);
    expect(result).toMatchObject({ status: 'published', samples: 1000 });
    expect(published[0]!.psi).toBeLessThan(0.01);
  });

  it('publishes a PSI above the alarm threshold when every score moves to the top bin', async () => {
    const { deps: d, published } = deps(
      Array.from({ length: 500 }, () => 0.97),
      alias,
    );
    await runDriftJob({}, [credit], d);
    expect(published[0]!.psi).toBeGreaterThan(credit.drift.psiAlarm);
  });

  it('publishes nothing below the minimum sample size or without a production model', async () => {
    const few = deps([0.5, 0.5], alias);
    expect((await runDriftJob({}, [credit], few.deps))[0]).toMatchObject({
      status: 'insufficient-samples',
      samples: 2,
    });
    const none = deps([0.5], undefined);
    expect((await runDriftJob({}, [credit], none.deps))[0]!.status).toBe('no-production-model');
    expect(few.published.length + none.published.length).toBe(0);
  });
});
