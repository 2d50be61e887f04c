import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CleanRow, featureSchemaHash, fitTransform } from '../../core/features/transform.ts';
import { parseModelDefinition } from '../../core/model/definition.ts';
import { fitOnTraining } from '../../core/snapshot/fit.ts';
import type { SplitRow } from '../../core/snapshot/split.ts';
import { credit, creditRows } from '../support/fixtures.ts';

const demo: SplitRow[] = creditRows(600).map((row, i) => ({ line: i + 2, row, label: (i % 2) as 0 | 1 }));

/** A credit row far outside the demo data: other categories, extreme numbers, missing values. */
const outlier: fc.Arbitrary<SplitRow> = fc
  .record({
    Seniority: fc.option(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { nil: null }),
    Home: fc.option(fc.constantFrom('castle', 'boat', 'cave'), { nil: null }),
    Income: fc.option(fc.double({ min: 1e6, max: 1e12, noNaN: true }), { nil: null }),
    Job: fc.constantFrom('astronaut', 'pirate'),
  })
  .map((extra) => ({
    line: 10_000,
    row: { ...demo[0]!.row, ...extra } as CleanRow,
    label: 1 as const,
  }));

describe('fitOnTraining', () => {
  it('fits on the training rows only: whatever validation and golden hold, the transform is the one the training rows give', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(demo, { minLength: 50, maxLength: 300 }),
        fc.array(fc.oneof(outlier, fc.constantFrom(...demo)), { maxLength: 60 }),
        fc.array(outlier, { maxLength: 30 }),
        (train, validation, golden) => {
          const fitted = fitOnTraining(credit.spec, { train, validation, golden });
          const alone = fitTransform(
            credit.spec,
            train.map((r) => r.row),
          );
          expect(fitted.transform).toEqual(alone);
          expect(fitted.featureSchemaHash).toBe(featureSchemaHash(credit.spec, alone));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('changes with what training holds: the kind of rows the property puts in the other splits changes the fit in training', () => {
    const train = demo.slice(0, 200);
    const withOutliers = [
      ...train,
      ...Array.from({ length: 200 }, (_, i) => ({
        line: 5000 + i,
        row: { ...train[0]!.row, Job: 'pirate' },
        label: 1 as const,
      })),
    ];
    expect(
      fitOnTraining(credit.spec, { train: withOutliers, validation: [], golden: [] }).featureSchemaHash,
    ).not.toBe(fitOnTraining(credit.spec, { train, validation: [], golden: [] }).featureSchemaHash);
  });

  it('fails InvalidInput naming the feature when training has nothing to impute from', () => {
    const def = parseModelDefinition(
      {
        name: 'impute',
        spec: {
          version: 1,
          label: { column: 'y', positive: 'yes', negative: 'no' },
          features: [{ name: 'a', type: 'numeric', missing: { impute: 'median' } }],
        },
      },
      'impute',
    );
    const rows = [0, 1].map((i) => ({ line: i + 2, row: { a: null }, label: i as 0 | 1 }));
    expect(() => fitOnTraining(def.spec, { train: rows, validation: [], golden: [] })).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: 'Feature "a" has no values in the training split to impute from.',
      }),
    );
  });
});
