import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import { systemClock } from '../../core/ports.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { credit } from '../support/fixtures.ts';
import { ingestCsv, prepareEnv } from '../support/ingest.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

/** The construct's environment, with the prefix of a stage named `test`. */
const env = { ...prepareEnv, trainingJobPrefix: trainingJobPrefix('test') };

const demo = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');
const header = demo[0]!;
describe('prepare step on bad data (against s3rver)', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;

  beforeAll(async () => {
    aws = await startLocalAws();
    lake = await aws.createBucket('lake');
  });
  afterAll(async () => aws.stop());

  async function prepare(csv: string, def: ModelDefinition = credit): Promise<PrepareOutput> {
    await ingestCsv(lake, def.name, csv, def);
    return prepareFeatures({ model: def.name }, () => undefined, { lake, clock: systemClock, env });
  }

  it('quarantines wrongly typed rows, rows without a label and ragged rows, each with its reason, and keeps unknown categories', async () => {
    const lines = [...demo];
    lines[1] = lines[1]!.replace(',30,"married"', ',"thirty","married"'); // Age
    lines[2] = lines[2]!.replace(/^"good"/, '""'); // label missing
    lines[3] = lines[3]!.split(',').slice(0, 13).join(','); // ragged
    lines[4] = lines[4]!.replace('"rent"', '"castle"'); // unseen category: kept
    const out = await prepare(`${lines.join('\n')}\n`);
    expect(out.counts).toMatchObject({ rows: 4454, valid: 4451, quarantined: 3 });
    expect(out.counts.train + out.counts.validation + out.counts.golden).toBe(4451);
    const rows = (await lake.getText(out.keys.quarantine!))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.line, r.reasons])).toEqual([
      [2, ['Age must be a finite number, got "thirty"']],
      [3, ['Status label must be "bad" or "good", got ""']],
      [4, ['expected 14 fields, got 13']],
    ]);
  });

  it.each([
    ['an empty file', '', 'is empty: expected a header row and data rows'],
    ['a header without rows', `${header}\n`, 'has a header but no data rows'],
    [
      'a duplicated header column',
      `${header},"Age"\n${demo[1]},30\n`,
      'header column "Age" appears more than once',
    ],
    [
      'a missing feature column',
      `${header.replace(',"Price"', '')}\n${demo[1]!.replace(/,\d+$/, '')}\n`,
      'lacks column(s) Price',
    ],
  ])('fails %s with a clear InvalidInput error', async (_case, csv, message) => {
    await expect(prepare(csv)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(message),
    });
  });

  it('splits by the time column: the oldest rows train, the newest are validation then golden', async () => {
    const def = parseModelDefinition(
      {
        ...JSON.parse(readFileSync('models/credit.json', 'utf8')),
        name: 'timed',
        spec: { ...credit.spec, timeColumn: 'When' },
        training: { ...credit.training, split: 'time', validationFraction: 0.2, goldenFraction: 0.1 },
      },
      'timed',
    );
    // Dates run backwards through the file, so a time split differs from file order.
    const rows = demo
      .slice(1, 1001)
      .map(
        (l, i) =>
          `${l},${new Date(Date.UTC(2024, 0, 1) + (1000 - i) * 86_400_000).toISOString().slice(0, 10)}`,
      );
    const out = await prepare(`${header},"When"\n${rows.join('\n')}\n`, def);
    expect(out.counts).toMatchObject({ train: 700, validation: 200, golden: 100 });
    const manifest = JSON.parse(await lake.getText(out.keys.manifest));
    expect(manifest.split).toBe('time');
    // The newest 100 rows are the first 100 lines of the file: their labels, in file order, are the golden labels.
    const goldenLabels = (await lake.getText(out.keys.golden!))
      .trim()
      .split('\n')
      .map((l) => l.split(',')[0]);
    const expected = demo.slice(1, 101).map((l) => (l.startsWith('"bad"') ? '1' : '0'));
    expect(goldenLabels.sort()).toEqual(expected.sort());
  });

  it('gives the same snapshot and manifest hash for the same data and seed, and another for another seed', async () => {
    const csv = `${demo.slice(0, 800).join('\n')}\n`;
    const a = await prepare(csv);
    const b = await prepare(csv);
    const c = await prepareFeatures({ model: 'credit', seed: 7 }, () => undefined, {
      lake,
      clock: systemClock,
      env,
    });
    expect(b.snapshotId).toBe(a.snapshotId);
    expect(b.dataManifestHash).toBe(a.dataManifestHash);
    expect(c.dataManifestHash).not.toBe(a.dataManifestHash);
    // The training job is named under the stage's prefix, after the model and the snapshot.
    expect(a.trainingJobName).toMatch(
      new RegExp(`^mlops-test--credit-${a.snapshotId.slice(0, 8)}-\\d{14}-[0-9a-f]{6}$`),
    );
    expect(c.trainingJobName).not.toBe(a.trainingJobName);
  });
});
