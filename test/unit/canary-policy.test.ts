import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { psi, scoreHistogram } from '../../core/drift/statistics.ts';
import { type CanarySettings, canarySettingsSchema } from '../../core/model/policies.ts';
import {
  type CanaryEvidence,
  judgeCanary,
  nextStepWeight,
  p95,
  type ServedSample,
  servedSample,
  servedSamples,
} from '../../core/policy/canary.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';

const defaults: CanarySettings = canarySettingsSchema.parse({});

/** `n` scores spread evenly over the ten score bins, so two such samples have a PSI of 0. */
function evenScores(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i % 10) / 10 + 0.05);
}

function sample(partial: Partial<ServedSample> = {}): ServedSample {
  return { scores: evenScores(60), failures: 0, requestLatenciesMs: [20, 30, 40], ...partial };
}

/** Evidence that makes a healthy verdict under the defaults: v2 at 10% beside v1, first bake. */
function evidence(
  canary: Partial<ServedSample> = {},
  incumbent: Partial<ServedSample> = {},
  more: { weight?: number; bakesBefore?: number } = {},
): CanaryEvidence {
  return {
    canary: { version: 2, weight: more.weight ?? 0.1, sample: sample(canary) },
    incumbent: { version: 1, sample: sample(incumbent) },
    bakesBefore: more.bakesBefore ?? 0,
  };
}

function row(partial: Partial<PredictionRecord>): PredictionRecord {
  return {
    model: 'credit',
    requestId: 'r1',
    index: 0,
    at: '2026-01-01T00:00:00.000Z',
    modelVersion: 2,
    variant: 'v2',
    route: 'canary',
    featureSchemaHash: 'h',
    features: {},
    score: 0.5,
    label: 'bad',
    latencyMs: 10,
    ...partial,
  };
}

describe('judgeCanary', () => {
  it('is healthy when errors, latency and score drift are within bounds, with the PSI as its reason', () => {
    const check = judgeCanary(defaults, evidence());
    expect(check).toEqual({
      verdict: 'healthy',
      healthy: true,
      bakes: 1,
      canarySamples: 60,
      incumbentSamples: 60,
      scorePsi: 0,
      errorRate: 0,
      latencyP95Ms: { canary: 40, incumbent: 40 },
      reasons: ['served-score PSI 0.0000 <= max 0.2500 (60 vs 60 predictions)'],
      summary: 'served-score PSI 0.0000 <= max 0.2500 (60 vs 60 predictions)',
    });
    expect('nextWeight' in check).toBe(false);
  });

  it('ends a canary that fails more than maxErrorRate of its predictions, before comparing anything', () => {
    const check = judgeCanary(defaults, evidence({ scores: evenScores(57), failures: 3 }, { scores: [] }));
    expect(check).toMatchObject({
      verdict: 'unhealthy',
      healthy: false,
      errorRate: 0.05,
      scorePsi: null,
      latencyP95Ms: null,
      reasons: ['v2 failed 3 of 60 predictions (5.0% > max 1.0%)'],
      summary: 'v2 failed 3 of 60 predictions (5.0% > max 1.0%)',
    });
  });

  it('does not judge errors before the canary was asked minSamples times, and bakes again', () => {
    const check = judgeCanary(defaults, evidence({ scores: evenScores(5), failures: 5 }));
    expect(check.verdict).toBe('bake');
    expect(check.errorRate).toBeNull();
  });

  it('keeps a canary whose error rate is exactly at the bound', () => {
    const check = judgeCanary(
      { ...defaults, maxErrorRate: 0.05 },
      evidence({ scores: evenScores(57), failures: 3 }),
    );
    expect(check.errorRate).toBe(0.05);
    expect(check.verdict).toBe('healthy');
  });

  it('bakes again while either side has too few predictions and bakes are left', () => {
    const check = judgeCanary(defaults, evidence({ scores: evenScores(10) }, {}, { bakesBefore: 1 }));
    expect(check).toMatchObject({
      verdict: 'bake',
      healthy: true,
      bakes: 2,
      canarySamples: 10,
      incumbentSamples: 60,
      scorePsi: null,
      latencyP95Ms: null,
      summary:
        'too few predictions to compare after bake 2 of 3 (canary 10, incumbent 60; at least 50 each): baking again',
    });
    expect(judgeCanary(defaults, evidence({}, { scores: evenScores(49) })).verdict).toBe('bake');
  });

  it('after maxBakes with too few predictions, promotes on the offline evidence when lowTraffic is promote', () => {
    const check = judgeCanary(defaults, evidence({ scores: [] }, { scores: [] }, { bakesBefore: 2 }));
    expect(check).toMatchObject({
      verdict: 'healthy',
      healthy: true,
      bakes: 3,
      summary:
        'too few predictions to compare after 3 bakes (canary 0, incumbent 0; at least 50 each): the canary is judged healthy on the offline evidence alone',
    });
  });

  it('after maxBakes with too few predictions, rolls back when lowTraffic is rollback', () => {
    const settings = { ...defaults, minSamples: 20, lowTraffic: 'rollback' as const };
    const check = judgeCanary(settings, evidence({ scores: [] }, { scores: [] }, { bakesBefore: 2 }));
    expect(check).toMatchObject({
      verdict: 'unhealthy',
      healthy: false,
      bakes: 3,
      summary:
        'too few predictions to compare after 3 bakes (canary 0, incumbent 0; at least 20 each): lowTraffic is rollback',
    });
  });

  it('rolls back a canary whose p95 latency exceeds the incumbent’s times maxLatencyRatio plus the slack', () => {
    const check = judgeCanary(
      defaults,
      evidence({ requestLatenciesMs: [200] }, { requestLatenciesMs: [50] }),
    );
    expect(check.verdict).toBe('unhealthy');
    expect(check.latencyP95Ms).toEqual({ canary: 200, incumbent: 50 });
    expect(check.reasons).toEqual([
      "v2 is slower: p95 latency 200 ms > 150 ms (v1's 50 ms x 2 + 50 ms)",
      'served-score PSI 0.0000 <= max 0.2500 (60 vs 60 predictions)',
    ]);
    expect(check.summary).toBe(check.reasons.join('; '));
    const atBound = judgeCanary(
      defaults,
      evidence({ requestLatenciesMs: [150] }, { requestLatenciesMs: [50] }),
    );
    expect(atBound.verdict).toBe('healthy');
  });

  it('rolls back a canary whose served scores drift from the incumbent’s beyond maxScorePsi', () => {
    const check = judgeCanary(
      defaults,
      evidence({ scores: Array(60).fill(0.95) }, { scores: Array(60).fill(0.05) }),
    );
    expect(check.verdict).toBe('unhealthy');
    expect(check.scorePsi).toBeCloseTo(18.4188, 4);
    expect(check.summary).toBe(
      "served scores of v2 drift from v1's: PSI 18.4188 > max 0.2500 (60 vs 60 predictions)",
    );
  });

  it('steps a healthy canary up the linear path, and is healthy at the last step', () => {
    const settings = { ...defaults, steps: 3 };
    const first = judgeCanary(settings, evidence({}, {}, { weight: 0.1 }));
    expect(first.verdict).toBe('step');
    expect(first.healthy).toBe(true);
    expect(first.nextWeight).toBe(0.4);
    expect(first.reasons.at(-1)).toBe('healthy at 10.0% of traffic: stepping to 40.0%');
    expect(judgeCanary(settings, evidence({}, {}, { weight: 0.4 })).nextWeight).toBe(0.7);
    const last = judgeCanary(settings, evidence({}, {}, { weight: 0.7 }));
    expect(last.verdict).toBe('healthy');
    expect(last.nextWeight).toBeUndefined();
  });

  it('does not step an unhealthy canary', () => {
    const check = judgeCanary(
      { ...defaults, steps: 3 },
      evidence({ requestLatenciesMs: [500] }, { requestLatenciesMs: [10] }),
    );
    expect(check.verdict).toBe('unhealthy');
    expect(check.nextWeight).toBeUndefined();
  });
});

describe('served samples from the prediction log', () => {
  it('counts failures, keeps scores, and takes one latency per request (its last row)', () => {
    const s = servedSample([
      row({ requestId: 'a', index: 0, score: 0.2, latencyMs: 30 }),
      row({ requestId: 'a', index: 1, score: 0.7, latencyMs: 31 }),
      row({ requestId: 'b', index: 0, score: null, label: null, error: 'variant failed', latencyMs: 90 }),
      row({ requestId: 'c', index: 0, score: 0.4, error: 'scored, then failed', latencyMs: 5 }),
    ]);
    expect(s).toEqual({ scores: [0.2, 0.7], failures: 2, requestLatenciesMs: [31, 90, 5] });
  });

  it('splits a window by version and leaves the shadow’s copies out of both sides', () => {
    const { canary, incumbent } = servedSamples(
      [
        row({ requestId: 'a', modelVersion: 2, route: 'canary', score: 0.1 }),
        row({ requestId: 'b', modelVersion: 1, route: 'production', score: 0.2 }),
        row({ requestId: 'c', modelVersion: 1, score: 0.3 }),
        row({ requestId: 'd', modelVersion: 2, route: 'shadow', score: 0.9 }),
        row({ requestId: 'e', modelVersion: 3, route: 'production', score: 0.8 }),
      ],
      { canary: 2, incumbent: 1 },
    );
    expect(canary.scores).toEqual([0.1]);
    expect(incumbent.scores).toEqual([0.2, 0.3]);
  });

  it('p95 is the nearest-rank 95th percentile, 0 with no values, and leaves its input alone', () => {
    expect(p95([])).toBe(0);
    expect(p95([7])).toBe(7);
    const values = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(p95(values)).toBe(19);
    expect(values[0]).toBe(20);
    expect(p95(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(95);
    expect(p95(Array.from({ length: 101 }, (_, i) => i + 1))).toBe(96);
  });
});

// ---- properties: the verdict follows the bounds, written out one by one ----

const unit = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 0.05, 0.1, 0.5, 0.95, 1) },
);

const settingsArb: fc.Arbitrary<CanarySettings> = fc.record({
  weight: fc.constantFrom(0.05, 0.1, 0.25, 0.5),
  bakeSeconds: fc.constant(60),
  minSamples: fc.integer({ min: 1, max: 25 }),
  // Sometimes lax enough that small samples pass, so healthy and step verdicts are common.
  maxScorePsi: fc.oneof(
    fc.constant(100),
    fc.constantFrom(0.1, 0.25),
    fc.double({ min: 0.001, max: 5, noNaN: true }),
  ),
  maxBakes: fc.integer({ min: 1, max: 4 }),
  steps: fc.integer({ min: 1, max: 4 }),
  lowTraffic: fc.constantFrom('promote', 'rollback'),
  maxErrorRate: fc.oneof(fc.constant(1), unit),
  maxLatencyRatio: fc.oneof(fc.constant(3), fc.double({ min: 1, max: 3, noNaN: true })),
  latencySlackMs: fc.integer({ min: 0, max: 100 }),
});

const sampleArb: fc.Arbitrary<ServedSample> = fc.record({
  scores: fc.oneof(
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
    fc.array(fc.constantFrom(0.15, 0.55, 0.85), { maxLength: 40 }),
  ),
  failures: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(8) }),
  requestLatenciesMs: fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 30 }),
});

const evidenceArb = (settings: CanarySettings): fc.Arbitrary<CanaryEvidence> =>
  fc.record({
    canary: fc.record({
      version: fc.constant(7),
      // A share on the linear path the settings describe, as the pipeline steps it.
      weight: fc
        .nat(settings.steps - 1)
        .map((k) => Math.round((settings.weight + ((1 - settings.weight) * k) / settings.steps) * 1e6) / 1e6),
      sample: sampleArb,
    }),
    incumbent: fc.record({ version: fc.constant(6), sample: sampleArb }),
    bakesBefore: fc.nat(5),
  });

const casesArb = settingsArb.chain((settings) => fc.tuple(fc.constant(settings), evidenceArb(settings)));

/** The smallest value at or above 95% of the values (by count, in integers), 0 for none. */
function p95Oracle(values: readonly number[]): number {
  const atOrBelow = (v: number) => values.filter((x) => x <= v).length;
  const candidates = values.filter((v) => atOrBelow(v) * 100 >= 95 * values.length);
  return candidates.length === 0 ? 0 : Math.min(...candidates);
}

interface Expected {
  enough: boolean;
  errors: boolean;
  latency: boolean;
  drift: boolean;
}

function expected(s: CanarySettings, e: CanaryEvidence): Expected {
  const c = e.canary.sample;
  const i = e.incumbent.sample;
  const asked = c.scores.length + c.failures;
  const enough = c.scores.length >= s.minSamples && i.scores.length >= s.minSamples;
  const bound = p95Oracle(i.requestLatenciesMs) * s.maxLatencyRatio + s.latencySlackMs;
  return {
    enough,
    errors: asked >= s.minSamples && c.failures / asked > s.maxErrorRate,
    latency: enough && p95Oracle(c.requestLatenciesMs) > bound,
    drift: enough && !(psi(scoreHistogram(i.scores), scoreHistogram(c.scores)) <= s.maxScorePsi),
  };
}

describe('judgeCanary (property)', () => {
  it('is never healthy or stepping when the canary fails more than maxErrorRate of at least minSamples predictions', () => {
    let seen = 0;
    fc.assert(
      fc.property(casesArb, ([settings, evidence]) => {
        const c = evidence.canary.sample;
        const asked = c.scores.length + c.failures;
        fc.pre(asked >= settings.minSamples && c.failures / asked > settings.maxErrorRate);
        seen++;
        const check = judgeCanary(settings, evidence);
        expect(check.verdict).toBe('unhealthy');
        expect(check.healthy).toBe(false);
        expect(check.errorRate).toBe(c.failures / asked);
      }),
      { numRuns: 500 },
    );
    expect(seen).toBeGreaterThan(100);
  });

  it('never judges on fewer than minSamples scores a side, except after maxBakes with lowTraffic promote', () => {
    fc.assert(
      fc.property(casesArb, ([settings, evidence]) => {
        const x = expected(settings, evidence);
        fc.pre(!x.enough && !x.errors);
        const check = judgeCanary(settings, evidence);
        expect(check.scorePsi).toBeNull();
        expect(check.latencyP95Ms).toBeNull();
        expect(check.nextWeight).toBeUndefined();
        if (check.bakes < settings.maxBakes) expect(check.verdict).toBe('bake');
        else expect(check.verdict).toBe(settings.lowTraffic === 'promote' ? 'healthy' : 'unhealthy');
      }),
      { numRuns: 1000 },
    );
  });

  it('once both sides have enough predictions, is unhealthy exactly when a bound is violated, naming each', () => {
    const verdicts = { healthy: 0, step: 0, unhealthy: 0 };
    const violated = { errors: 0, latency: 0, drift: 0 };
    fc.assert(
      fc.property(casesArb, ([settings, evidence]) => {
        const x = expected(settings, evidence);
        fc.pre(x.enough);
        const check = judgeCanary(settings, evidence);
        expect(check.verdict === 'unhealthy').toBe(x.errors || x.latency || x.drift);
        expect(check.verdict).not.toBe('bake');
        verdicts[check.verdict as keyof typeof verdicts]++;
        for (const bound of ['errors', 'latency', 'drift'] as const) if (x[bound]) violated[bound]++;
        if (x.errors) {
          expect(check.reasons).toHaveLength(1);
          expect(check.reasons[0]).toMatch(/^v7 failed \d+ of \d+ predictions/);
          return;
        }
        expect(check.reasons.some((r) => r.startsWith('v7 is slower'))).toBe(x.latency);
        expect(check.reasons.some((r) => r.startsWith('served scores of v7 drift from v6'))).toBe(x.drift);
        expect(check.latencyP95Ms).toEqual({
          canary: p95Oracle(evidence.canary.sample.requestLatenciesMs),
          incumbent: p95Oracle(evidence.incumbent.sample.requestLatenciesMs),
        });
      }),
      { numRuns: 3000 },
    );
    // Every outcome must be reached often, or the property proves little.
    expect(verdicts.healthy).toBeGreaterThan(50);
    expect(verdicts.step).toBeGreaterThan(50);
    expect(verdicts.unhealthy).toBeGreaterThan(50);
    expect(violated.errors).toBeGreaterThan(50);
    expect(violated.latency).toBeGreaterThan(50);
    expect(violated.drift).toBeGreaterThan(50);
  });

  it('steps only a healthy canary with steps left, to a larger share below 100%', () => {
    fc.assert(
      fc.property(casesArb, ([settings, evidence]) => {
        const check = judgeCanary(settings, evidence);
        const x = expected(settings, evidence);
        const next = nextStepWeight(settings.weight, settings.steps, evidence.canary.weight);
        const healthyOnEvidence = x.enough && !x.errors && !x.latency && !x.drift;
        expect(check.verdict === 'step').toBe(healthyOnEvidence && next !== undefined);
        if (check.verdict === 'step') {
          expect(check.nextWeight).toBe(next);
          expect(check.nextWeight).toBeGreaterThan(evidence.canary.weight);
          expect(check.nextWeight).toBeLessThan(1);
        } else {
          expect(check.nextWeight).toBeUndefined();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reports its counts, its bakes and one summary line of its reasons whatever the verdict', () => {
    fc.assert(
      fc.property(casesArb, ([settings, evidence]) => {
        const check = judgeCanary(settings, evidence);
        expect(check.healthy).toBe(check.verdict !== 'unhealthy');
        expect(check.bakes).toBe(evidence.bakesBefore + 1);
        expect(check.canarySamples).toBe(evidence.canary.sample.scores.length);
        expect(check.incumbentSamples).toBe(evidence.incumbent.sample.scores.length);
        expect(check.reasons.length).toBeGreaterThan(0);
        expect(check.summary).toBe(check.reasons.join('; '));
      }),
      { numRuns: 1000 },
    );
  });
});
