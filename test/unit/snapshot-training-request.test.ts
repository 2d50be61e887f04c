import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { parseModelDefinition } from '../../core/model/definition.ts';
import {
  checkTrainingJobPrefix,
  nameTimestamp,
  trainingChannels,
  trainingHyperParameters,
  trainingJobName,
  trainingJobSuffix,
  trainingRequest,
  trainingResources,
} from '../../core/snapshot/training-request.ts';

/** SageMaker's rule for a training job name. */
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

const stages = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
  .filter((s) => !s.includes('--') && !s.endsWith('-'));
const models = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/);
const snapshotIds = fc.stringMatching(/^[0-9a-f]{16}$/);
const instants = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T23:59:59Z'),
  noInvalidDate: true,
});

const at = new Date('2026-03-04T05:06:07.089Z');
const parts = { prefix: 'mlops-dev--', model: 'credit', snapshotId: '0123456789abcdef', seed: 42, at };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('trainingJobName', () => {
  it('starts with the whole stage prefix, is a valid SageMaker name of at most 63 characters, and is the same for the same request', () => {
    fc.assert(
      fc.property(stages, models, snapshotIds, fc.nat(), instants, (stage, model, snapshotId, seed, when) => {
        const prefix = trainingJobPrefix(stage);
        const name = trainingJobName({ prefix, model, snapshotId, seed, at: when });
        expect(name.startsWith(prefix)).toBe(true);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name).toMatch(SAGEMAKER_NAME);
        expect(trainingJobName({ prefix, model, snapshotId, seed, at: new Date(when.getTime()) })).toBe(name);
      }),
      { numRuns: 500 },
    );
  });

  it("never starts with another stage's prefix, so a grant on one stage's prefix covers no job of another", () => {
    fc.assert(
      fc.property(stages, stages, models, snapshotIds, (stage, other, model, snapshotId) => {
        fc.pre(stage !== other);
        const name = trainingJobName({ ...parts, prefix: trainingJobPrefix(stage), model, snapshotId });
        expect(name.startsWith(trainingJobPrefix(other))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('reads prefix, model, snapshot, UTC timestamp and suffix when it fits', () => {
    const suffix = trainingJobSuffix(parts.snapshotId, 42, at);
    expect(suffix).toMatch(/^[0-9a-f]{6}$/);
    expect(nameTimestamp(at)).toBe('20260304050607');
    expect(trainingJobName(parts)).toBe(`mlops-dev--credit-01234567-20260304050607-${suffix}`);
  });

  it('differs for another seed, snapshot or millisecond, and takes nothing from Math.random', () => {
    const random = vi.spyOn(Math, 'random');
    const name = trainingJobName(parts);
    expect(trainingJobName({ ...parts, seed: 43 })).not.toBe(name);
    expect(trainingJobName({ ...parts, snapshotId: '0123456789abcdee' })).not.toBe(name);
    expect(trainingJobName({ ...parts, at: new Date(at.getTime() + 1) })).not.toBe(name);
    expect(random).not.toHaveBeenCalled();
  });

  it('when too long, keeps the prefix whole and ends with a hash of the whole name', () => {
    const prefix = trainingJobPrefix('abcdefghijklmnop');
    const long = { ...parts, prefix, model: `m${'x'.repeat(31)}` };
    const name = trainingJobName(long);
    expect(name).toHaveLength(63);
    expect(name).toMatch(new RegExp(`^${prefix}mx+-[0-9a-f]{8}$`));
    expect(trainingJobName({ ...long, at: new Date(at.getTime() + 1) })).not.toBe(name);
  });

  it('refuses a prefix a name cannot start with, naming it', () => {
    for (const bad of ['', 'mlops_dev--', '-mlops', 'm'.repeat(41)]) {
      expect(() => trainingJobName({ ...parts, prefix: bad })).toThrow(`The training job prefix "${bad}"`);
    }
    expect(checkTrainingJobPrefix('m'.repeat(40))).toBe('m'.repeat(40));
  });
});

describe('training request', () => {
  const def = parseModelDefinition(
    {
      name: 'credit',
      spec: {
        version: 1,
        label: { column: 'y', positive: 'yes', negative: 'no' },
        features: [{ name: 'a', type: 'numeric' }],
      },
      training: { seed: 42, hyperparameters: { max_depth: 4, eta: 0.1, seed: 1, verbose: true } },
    },
    'credit',
  );

  it("passes the model's hyperparameters as strings, the run's seed, and the script-mode pair JSON-encoded", () => {
    expect(trainingHyperParameters(def, 7, 's3://code/sourcedir.tar.gz')).toEqual({
      max_depth: '4',
      eta: '0.1',
      seed: '7',
      verbose: 'true',
      sagemaker_program: '"train.py"',
      sagemaker_submit_directory: '"s3://code/sourcedir.tar.gz"',
    });
  });

  it('reads the training and validation matrices from their prefixes in the lake', () => {
    expect(
      trainingChannels('lake', { train: 'curated/m/s/train/', validation: 'curated/m/s/validation/' }),
    ).toEqual({
      train: 's3://lake/curated/m/s/train/',
      validation: 's3://lake/curated/m/s/validation/',
    });
  });

  it('puts name, hyperparameters and channels together', () => {
    const request = trainingRequest({
      def,
      snapshotId: parts.snapshotId,
      seed: 42,
      at,
      jobPrefix: 'mlops-dev--',
      sourceUri: 's3://code/sourcedir.tar.gz',
      bucket: 'lake',
      channelPrefixes: { train: 't/', validation: 'v/' },
    });
    expect(request).toEqual({
      trainingJobName: trainingJobName(parts),
      hyperParameters: trainingHyperParameters(def, 42, 's3://code/sourcedir.tar.gz'),
      channels: { train: 's3://lake/t/', validation: 's3://lake/v/' },
      resources: { instanceCount: 1, trainDistribution: 'FullyReplicated' },
    });
  });

  it('shards the train channel by S3 key across the instances when the model asks for more than one', () => {
    const several = parseModelDefinition(
      { ...def, training: { ...def.training, instanceCount: 3 } },
      'credit',
    );
    expect(trainingResources(several)).toEqual({ instanceCount: 3, trainDistribution: 'ShardedByS3Key' });
    for (const instanceCount of [0, 17, 1.5]) {
      expect(() =>
        parseModelDefinition({ ...def, training: { ...def.training, instanceCount } }, 'credit'),
      ).toThrow(/training\.instanceCount/);
    }
  });
});
