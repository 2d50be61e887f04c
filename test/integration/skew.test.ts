/**
 * Training–serving skew, proven on real artifacts: the rows of the curated snapshot that the
 * prepare step writes (the batch path) are exactly the vectors the predict path computes from the
 * same raw rows sent as JSON, for the demo data and for generated data sets.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { parseCsv } from '../../core/features/csv.ts';
import {
  type TransformArtifact,
  transformRow,
  validateRow,
  vectorToCsv,
} from '../../core/features/transform.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import { systemClock } from '../../core/ports.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { credit } from '../support/fixtures.ts';
import { ingestCsv, prepareEnv } from '../support/ingest.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

/** The construct's environment, with the prefix of a stage named `test`. */
const env = { ...prepareEnv, trainingJobPrefix: trainingJobPrefix('test') };

describe('batch vectors (prepare) equal online vectors (predict)', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;
  beforeAll(async () => {
    aws = await startLocalAws();
    lake = await aws.createBucket('lake');
  });
  afterAll(async () => aws.stop());

  /** Runs the prepare step and returns its curated rows (all splits) and the fitted transform. */
  async function batch(
    csv: string,
    def: ModelDefinition,
  ): Promise<{ lines: string[]; transform: TransformArtifact }> {
    await ingestCsv(lake, def.name, csv, def);
    const out = await prepareFeatures({ model: def.name }, () => undefined, {
      lake,
      clock: systemClock,
      env,
    });
    const keys = [
      out.keys.validation,
      out.keys.validation.replace('/validation/', '/train/'),
      ...(out.keys.golden ? [out.keys.golden] : []),
    ];
    const lines = (await Promise.all(keys.map((k) => lake.getText(k)))).flatMap((t) => t.trim().split('\n'));
    return { lines, transform: JSON.parse(await lake.getText(out.keys.transform)) };
  }

  /** The predict path: raw fields as a client sends them in JSON, validated and transformed. */
  function online(csv: string, def: ModelDefinition, transform: TransformArtifact): string[] {
    return parseCsv(csv).records.map(({ values }) => {
      const json: Record<string, unknown> = {};
      for (const f of def.spec.features) {
        const v = values[f.name]!;
        if (v !== '')
          json[f.name] = f.type === 'numeric' ? Number(v) : f.type === 'boolean' ? v === 'true' : v;
      }
      const res = validateRow(def.spec, json, 'json');
      if (!res.ok) throw new Error(JSON.stringify(res.errors));
      return vectorToCsv(
        values[def.spec.label.column] === def.spec.label.positive ? 1 : 0,
        transformRow(def.spec, transform, res.row),
      );
    });
  }

  it('on the demo data', async () => {
    const csv = readFileSync('data/credit_data.csv', 'utf8');
    const { lines, transform } = await batch(csv, credit);
    expect(lines).toHaveLength(4454);
    expect([...lines].sort()).toEqual(online(csv, credit, transform).sort());
  });

  it('on generated data sets with imputation, clipping, log1p, rare categories and booleans', async () => {
    const def = parseModelDefinition(
      {
        name: 'generated',
        spec: {
          version: 1,
          label: { column: 'y', positive: 'yes', negative: 'no' },
          features: [
            {
              name: 'a',
              type: 'numeric',
              missing: { impute: 'median' },
              transforms: [{ clip: { lower: 0.05, upper: 0.95 } }, 'log1p'],
            },
            { name: 'b', type: 'numeric', missing: 'native' },
            { name: 'c', type: 'categorical', missing: { impute: 'mode' }, minCount: 2, maxCategories: 3 },
            { name: 'd', type: 'boolean', missing: 'native' },
          ],
        },
        training: { split: 'random', validationFraction: 0.2, goldenFraction: 0.1, maxInvalidFraction: 0 },
      },
      'generated',
    );
    const row = fc.record({
      y: fc.constantFrom('yes', 'no'),
      a: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: null }),
      b: fc.option(
        fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ min: -1e9, max: 1e9, noNaN: true })),
        { nil: null },
      ),
      c: fc.option(fc.constantFrom('red', 'green', 'blue', 'cyan', 'magenta'), { nil: null }),
      d: fc.option(fc.boolean(), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 20, maxLength: 80 }), async (rows) => {
        fc.pre(
          new Set(rows.map((r) => r.y)).size === 2 &&
            rows.some((r) => r.a !== null) &&
            rows.some((r) => r.c !== null),
        );
        const cell = (v: unknown) => (v === null ? '' : String(v));
        const csv = `y,a,b,c,d\n${rows.map((r) => [r.y, r.a, r.b, r.c, r.d].map(cell).join(',')).join('\n')}\n`;
        const { lines, transform } = await batch(csv, def);
        expect([...lines].sort()).toEqual(online(csv, def, transform).sort());
      }),
      // Stop generating (and report what ran) well before the test's own timeout on a slow machine.
      { numRuns: 40, interruptAfterTimeLimit: 60_000 },
    );
  }, 180_000);
});
