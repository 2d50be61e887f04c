import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { storeGolden } from '../../cli/golden.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { parseCsv } from '../../core/features/csv.ts';
import { validateRow } from '../../core/features/transform.ts';
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
const csv = (lines: string[]) => `${[header, ...lines].join('\n')}\n`;
/** 1,200 raw rows; the golden set below repeats the first 30 of them and adds 10 from elsewhere. */
const raw = csv(demo.slice(1, 1201));
const goldenLines = [...demo.slice(1, 31), ...demo.slice(2001, 2011)];

/** The credit definition under another name, so that each test has its own lake prefixes. */
function model(name: string, change: (d: Record<string, unknown>) => void = () => {}): ModelDefinition {
  const d = structuredClone({ ...credit, name }) as unknown as Record<string, unknown>;
  change(d);
  return parseModelDefinition(d, name);
}

interface EvalRow {
  split: 'validation' | 'golden';
  line: number;
  label: 0 | 1;
  row: Record<string, unknown>;
}

describe('prepare step with a golden set (against s3rver)', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;

  beforeAll(async () => {
    aws = await startLocalAws();
    lake = await aws.createBucket('lake');
  });
  afterAll(async () => aws.stop());

  async function setGolden(def: ModelDefinition, lines: string[]): Promise<string> {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const res = await storeGolden(lake, { def, from: 'test' }, Buffer.from(csv(lines)), 'golden.csv');
      return res.goldenId;
    } finally {
      log.mockRestore();
    }
  }

  async function prepare(def: ModelDefinition, data = raw): Promise<PrepareOutput> {
    await ingestCsv(lake, def.name, data, def);
    return prepareFeatures({ model: def.name }, () => undefined, { lake, clock: systemClock, env });
  }

  const evalRows = async (out: PrepareOutput): Promise<EvalRow[]> =>
    (await lake.getText(out.keys.evalRows))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EvalRow);
  const matrix = async (key: string) => (await lake.getText(key)).trim().split('\n');

  it('uses exactly the golden set as the golden split and keeps raw copies of its rows out of train and validation', async () => {
    const def = model('golden-a');
    const withoutGolden = await prepare(def);
    const goldenId = await setGolden(def, goldenLines);
    const out = await prepare(def);

    expect(out.counts).toMatchObject({ rows: 1200, valid: 1200, golden: 40, goldenDuplicates: 30 });
    expect(out.counts.train + out.counts.validation).toBe(1200 - 30);
    expect(out.golden).toMatchObject({ source: 'golden-set', goldenId, rows: 40 });

    // The golden rows kept raw for the comparison step are the set's rows, in its order, as the spec reads them.
    const golden = (await evalRows(out)).filter((r) => r.split === 'golden');
    const expected = parseCsv(csv(goldenLines)).records.map((r) =>
      validateRow(def.spec, r.values, 'csv', true),
    );
    expect(golden.map((r) => r.row)).toEqual(expected.map((e) => (e.ok ? e.row : undefined)));
    expect(golden.map((r) => r.label)).toEqual(expected.map((e) => (e.ok ? e.label : undefined)));
    expect(await matrix(out.keys.golden!)).toHaveLength(40);

    // No vector of a repeated golden row is in the training or validation matrices.
    const repeated = (await matrix(out.keys.golden!)).slice(0, 30);
    const trainAndValidation = new Set([
      ...(await matrix(`${out.channels.train.replace(`s3://${lake.bucket}/`, '')}part-00000.csv`)),
      ...(await matrix(out.keys.validation)),
    ]);
    expect(repeated.filter((v) => trainAndValidation.has(v))).toEqual([]);
    expect(await matrix(out.keys.validation)).toHaveLength(out.counts.validation);

    // No raw row is golden; validation keeps the rows it had, less the copies of golden rows.
    const lines = (rows: EvalRow[]) => rows.filter((r) => r.split === 'validation').map((r) => r.line);
    const copies = new Set(demo.slice(1, 31).map((_, i) => i + 2));
    expect(lines(await evalRows(out))).toEqual(
      lines(await evalRows(withoutGolden)).filter((l) => !copies.has(l)),
    );

    const manifest = JSON.parse(await lake.getText(out.keys.manifest));
    expect(manifest.golden).toEqual({
      source: 'golden-set',
      goldenId,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      rows: 40,
    });
    expect(goldenId).toBe(`g-${manifest.golden.sha256.slice(0, 12)}`);
    expect(manifest.counts.goldenDuplicates).toBe(30);
    expect(manifest.fractions).toEqual({ validation: 0.2 });
  });

  it('gives a new data version for a new golden set and the same one for the same set', async () => {
    const def = model('golden-b');
    const first = await setGolden(def, goldenLines);
    const a = await prepare(def);
    const again = await prepare(def);
    expect(again.snapshotId).toBe(a.snapshotId);
    expect(again.dataManifestHash).toBe(a.dataManifestHash);

    const second = await setGolden(def, [...goldenLines, demo[3001]!]);
    expect(second).not.toBe(first);
    const b = await prepare(def);
    expect(b.golden).toMatchObject({ goldenId: second, rows: 41 });
    expect(b.snapshotId).not.toBe(a.snapshotId);
    expect(b.dataManifestHash).not.toBe(a.dataManifestHash);

    // Setting the first file again points back at its version: the data version is the first one's.
    expect(await setGolden(def, goldenLines)).toBe(first);
    const c = await prepare(def);
    expect(c.snapshotId).toBe(a.snapshotId);
    expect(c.dataManifestHash).toBe(a.dataManifestHash);
  });

  it('fails the run naming the golden set, the line and the reason when a golden row no longer validates', async () => {
    const lenient = model('golden-c');
    const goldenId = await setGolden(lenient, goldenLines);
    // Lines 31 and 37 of the golden file have no Income; the new definition rejects a missing Income.
    expect(goldenLines.flatMap((l, i) => (l.split(',')[9] === '' ? [i + 2] : []))).toEqual([31, 37]);
    const strict = model('golden-c', (d) => {
      const spec = d.spec as { features: { name: string; missing?: unknown }[] };
      spec.features.find((f) => f.name === 'Income')!.missing = 'reject';
    });
    const failure = prepare(strict);
    await expect(failure).rejects.toMatchObject({ name: 'InvalidInput' });
    const message = await failure.catch((e: Error) => e.message);
    expect(message).toContain(`Golden set ${goldenId} of "golden-c"`);
    expect(message).toContain('2 of 40 rows are invalid');
    expect(message).toContain('line 31, column Income: is required | line 37, column Income: is required');
  });

  it('fails the run when the stored golden rows are not the bytes the pointer recorded', async () => {
    const def = model('golden-d');
    const goldenId = await setGolden(def, goldenLines);
    await lake.put(lakeKeys.goldenRows(def.name, goldenId), csv(goldenLines.slice(1)), 'text/csv');
    await expect(prepare(def)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(`Golden set ${goldenId} of "golden-d"`),
    });
  });

  it('without a golden set, holds goldenFraction of the raw rows out by the hash split', async () => {
    const out = await prepare(model('golden-e'));
    expect(out.golden).toEqual({ source: 'split', fraction: 0.1 });
    expect(out.counts.goldenDuplicates).toBe(0);
    expect(out.counts.train + out.counts.validation + out.counts.golden).toBe(1200);
    expect(out.counts.golden).toBeGreaterThan(80);
    expect(out.counts.golden).toBeLessThan(160);
    const golden = (await evalRows(out)).filter((r) => r.split === 'golden');
    expect(golden).toHaveLength(out.counts.golden);
    // Golden rows are raw rows here: their lines are lines of the raw file.
    expect(Math.max(...golden.map((r) => r.line))).toBeLessThanOrEqual(1201);
    const manifest = JSON.parse(await lake.getText(out.keys.manifest));
    expect(manifest.golden).toEqual({ source: 'split', fraction: 0.1 });
  });
});
