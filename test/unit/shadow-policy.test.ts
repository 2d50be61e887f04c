import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ShadowSettings, shadowSettingsSchema } from '../../core/model/policies.ts';
import { judgeShadow, pairShadowRows, type ShadowEvidence, shadowRows } from '../../core/policy/shadow.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';

const settings: ShadowSettings = shadowSettingsSchema.parse({ minSamples: 3, minAgreement: 0.9 });

function row(partial: Partial<PredictionRecord>): PredictionRecord {
  return {
    model: 'credit',
    requestId: 'r1',
    index: 0,
    at: '2026-01-01T00:00:00.000Z',
    modelVersion: 1,
    variant: 'v1',
    route: 'production',
    featureSchemaHash: 'h',
    features: {},
    score: 0.5,
    label: 'bad',
    latencyMs: 10,
    ...partial,
  };
}

const failed = { score: null, label: null, error: 'variant failed' };
const prod = (requestId: string, index: number, score: number, more: Partial<PredictionRecord> = {}) =>
  row({ requestId, index, score, label: score >= 0.5 ? 'bad' : 'good', ...more });
const shadow = (requestId: string, index: number, score: number, more: Partial<PredictionRecord> = {}) =>
  prod(requestId, index, score, { modelVersion: 2, variant: 'v2', route: 'shadow', ...more });

function evidence(
  production: PredictionRecord[],
  shadowed: PredictionRecord[],
  bakesBefore = 0,
): ShadowEvidence {
  return {
    production: { version: 1, rows: production },
    shadow: { version: 2, rows: shadowed },
    bakesBefore,
  };
}

describe('judgeShadow', () => {
  it('pairs instances by request id and index, leaving out failures and unmatched copies', () => {
    const production = [
      prod('a', 0, 0.2),
      prod('a', 1, 0.7),
      prod('b', 0, 0.6, failed),
      prod('c', 0, 0.3),
      prod('e', 0, 0.5),
    ];
    const copies = [
      shadow('a', 1, 0.8),
      shadow('a', 0, 0.25),
      shadow('a', 2, 0.9),
      shadow('b', 0, 0.6),
      shadow('c', 0, 0.3, failed),
      shadow('d', 0, 0.1),
      // An error makes a failure, not a pair, even when the row carries a score.
      shadow('e', 0, 0.5, { error: 'timed out' }),
    ];
    const pairs = pairShadowRows(production, copies);
    expect(pairs.map(({ p, s }) => [p.requestId, p.index, s.requestId, s.index])).toEqual([
      ['a', 1, 'a', 1],
      ['a', 0, 'a', 0],
    ]);
    const report = judgeShadow({ ...settings, minSamples: 2 }, evidence(production, copies));
    expect(report.pairs).toBe(2);
    expect(report.shadowErrors).toBe(2);
  });

  it('agrees when the labels agree at least minAgreement, reporting differences, PSI and shadow errors', () => {
    const report = judgeShadow(
      settings,
      evidence(
        [prod('a', 0, 0.2), prod('a', 1, 0.7), prod('b', 0, 0.9)],
        [shadow('a', 0, 0.21), shadow('a', 1, 0.72), shadow('b', 0, 0.9), shadow('c', 0, 0, failed)],
      ),
    );
    expect(report).toEqual({
      verdict: 'agree',
      bakes: 1,
      pairs: 3,
      shadowErrors: 1,
      agreement: 1,
      meanAbsScoreDiff: expect.closeTo(0.01, 9),
      maxAbsScoreDiff: expect.closeTo(0.02, 9),
      scorePsi: 0,
      summary:
        'shadow v2 vs production v1: labels agree on 100.0% of 3 predictions, mean score difference 0.0100 (max 0.0200), score PSI 0.0000, 1 shadow error(s)',
    });
  });

  it('disagrees when the labels agree on less than minAgreement of the pairs', () => {
    const report = judgeShadow(
      settings,
      evidence(
        [prod('a', 0, 0.2), prod('b', 0, 0.7), prod('c', 0, 0.9), prod('d', 0, 0.1)],
        [shadow('a', 0, 0.6), shadow('b', 0, 0.7), shadow('c', 0, 0.9), shadow('d', 0, 0.1)],
      ),
    );
    expect(report.verdict).toBe('disagree');
    expect(report.agreement).toBe(0.75);
    expect(report.summary).toMatch(
      /^shadow v2 vs production v1: labels agree on 75\.0% of 4 predictions, .*, 0 shadow error\(s\); below min agreement 90\.0%$/,
    );
  });

  it('only reports, and agrees, when minAgreement is 0', () => {
    const report = judgeShadow(
      { ...settings, minAgreement: 0 },
      evidence(
        [prod('a', 0, 0.2), prod('b', 0, 0.2), prod('c', 0, 0.2)],
        [shadow('a', 0, 0.8), shadow('b', 0, 0.8), shadow('c', 0, 0.8)],
      ),
    );
    expect(report.agreement).toBe(0);
    expect(report.verdict).toBe('agree');
  });

  it('bakes again with fewer than minSamples pairs while bakes are left', () => {
    const report = judgeShadow(
      settings,
      evidence([prod('a', 0, 0.2), prod('b', 0, 0.7)], [shadow('a', 0, 0.2), shadow('b', 0, 0.7)], 1),
    );
    expect(report).toEqual({
      verdict: 'bake',
      bakes: 2,
      pairs: 2,
      shadowErrors: 0,
      agreement: null,
      meanAbsScoreDiff: null,
      maxAbsScoreDiff: null,
      scorePsi: null,
      summary: '2 paired predictions after shadow bake 2 of 3 (at least 3): baking again',
    });
  });

  it('after maxBakes with too few pairs, disagrees unless minAgreement is 0', () => {
    const few = evidence([prod('a', 0, 0.2)], [shadow('a', 0, 0.2), shadow('b', 0, 0, failed)], 2);
    const report = judgeShadow(settings, few);
    expect(report).toMatchObject({
      verdict: 'disagree',
      bakes: 3,
      pairs: 1,
      shadowErrors: 1,
      agreement: null,
      summary: 'only 1 paired predictions after 3 shadow bakes (at least 3): no agreement to judge',
    });
    expect(judgeShadow({ ...settings, minAgreement: 0 }, few).verdict).toBe('agree');
  });
});

describe('shadowRows', () => {
  it('takes production’s answered rows and the shadow’s copies from the window', () => {
    const window = [
      prod('a', 0, 0.1),
      prod('b', 0, 0.2, { route: undefined }),
      prod('c', 0, 0.3, { route: 'canary' }),
      shadow('a', 0, 0.4),
      prod('d', 0, 0.5, { modelVersion: 2, route: 'production' }),
      prod('e', 0, 0.6, { modelVersion: 3, route: 'shadow' }),
      prod('f', 0, 0.7, { modelVersion: 1, route: 'shadow' }),
    ];
    const { production, shadow: copies } = shadowRows(window, { production: 1, shadow: 2 });
    expect(production.map((r) => r.requestId)).toEqual(['a', 'b', 'c']);
    expect(copies.map((r) => r.requestId)).toEqual(['a']);
  });
});

// ---- properties: agreement is a share, and the verdict follows minAgreement ----

const REQUESTS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const key = (r: PredictionRecord) => `${r.requestId}#${r.index}`;

const scoreArb = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0.2, 0.8));
/** True `tenths` times in ten. */
const often = (tenths: number) =>
  fc.oneof(
    { weight: tenths, arbitrary: fc.constant(true) },
    { weight: 10 - tenths, arbitrary: fc.constant(false) },
  );

/**
 * The window of one shadow: instances (at most one row per version, request and index, as the
 * log holds them) that production answered, the shadow copied, or both; either may have failed,
 * and the shadow gives production's label more often than not.
 */
const windowArb = fc
  .uniqueArray(
    fc.record({
      requestId: fc.constantFrom(...REQUESTS),
      index: fc.nat(2),
      inProduction: often(8),
      inShadow: often(8),
      productionOk: often(9),
      shadowOk: often(9),
      productionScore: scoreArb,
      shadowScore: scoreArb,
      productionLabel: fc.constantFrom('good', 'bad'),
      sameLabel: often(7),
    }),
    { maxLength: 24, selector: (r) => `${r.requestId}#${r.index}` },
  )
  .map((instances) => ({
    production: instances
      .filter((i) => i.inProduction)
      .map((i) =>
        row({
          requestId: i.requestId,
          index: i.index,
          ...(i.productionOk ? { score: i.productionScore, label: i.productionLabel } : failed),
        }),
      ),
    shadow: instances
      .filter((i) => i.inShadow)
      .map((i) =>
        row({
          requestId: i.requestId,
          index: i.index,
          modelVersion: 2,
          variant: 'v2',
          route: 'shadow',
          ...(i.shadowOk
            ? {
                score: i.shadowScore,
                label: i.sameLabel === (i.productionLabel === 'good') ? 'good' : 'bad',
              }
            : failed),
        }),
      ),
  }));

const settingsArb: fc.Arbitrary<ShadowSettings> = fc.record({
  bakeSeconds: fc.constant(60),
  minSamples: fc.integer({ min: 1, max: 12 }),
  maxBakes: fc.integer({ min: 1, max: 4 }),
  minAgreement: fc.oneof(fc.constantFrom(0, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true })),
});

const evidenceArb: fc.Arbitrary<ShadowEvidence> = fc
  .tuple(windowArb, fc.nat(4))
  .map(([w, bakesBefore]) => evidence(w.production, w.shadow, bakesBefore));

/** The pairs written out directly: scored shadow copies with a scored production row of the same key. */
function expectedPairs(e: ShadowEvidence) {
  const scored = (r: PredictionRecord) => r.error === undefined && r.score !== null;
  return e.shadow.rows.filter(scored).flatMap((s) => {
    const p = e.production.rows.find((r) => scored(r) && key(r) === key(s));
    return p ? [{ p, s }] : [];
  });
}

describe('judgeShadow (property)', () => {
  it('agreement is a share of the pairs in [0, 1], and with enough pairs disagrees exactly below minAgreement', () => {
    const outcomes = { bake: 0, judgedAgree: 0, judgedDisagree: 0 };
    fc.assert(
      fc.property(settingsArb, evidenceArb, (s, e) => {
        const report = judgeShadow(s, e);
        const pairs = expectedPairs(e);
        expect(report.pairs).toBe(pairs.length);
        expect(report.shadowErrors).toBe(e.shadow.rows.filter((r) => r.error !== undefined).length);
        expect(report.bakes).toBe(e.bakesBefore + 1);
        if (pairs.length < s.minSamples) {
          expect(report.agreement).toBeNull();
          const verdict = report.bakes < s.maxBakes ? 'bake' : s.minAgreement > 0 ? 'disagree' : 'agree';
          expect(report.verdict).toBe(verdict);
          if (verdict === 'bake') outcomes.bake++;
          return;
        }
        const agreement = pairs.filter(({ p, s }) => p.label === s.label).length / pairs.length;
        expect(report.agreement).toBe(agreement);
        expect(report.agreement).toBeGreaterThanOrEqual(0);
        expect(report.agreement).toBeLessThanOrEqual(1);
        expect(report.verdict).toBe(agreement < s.minAgreement ? 'disagree' : 'agree');
        outcomes[report.verdict === 'agree' ? 'judgedAgree' : 'judgedDisagree']++;
        expect(report.summary.endsWith(`below min agreement ${(s.minAgreement * 100).toFixed(1)}%`)).toBe(
          report.verdict === 'disagree',
        );
        expect(report.meanAbsScoreDiff).toBeGreaterThanOrEqual(0);
        expect(report.meanAbsScoreDiff).toBeLessThanOrEqual(report.maxAbsScoreDiff! + 1e-12);
        expect(report.maxAbsScoreDiff).toBe(
          Math.max(...pairs.map(({ p, s }) => Math.abs(p.score! - s.score!))),
        );
        expect(report.scorePsi).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 3000 },
    );
    // Every outcome must be reached often, or the property proves little.
    expect(outcomes.bake).toBeGreaterThan(100);
    expect(outcomes.judgedAgree).toBeGreaterThan(100);
    expect(outcomes.judgedDisagree).toBeGreaterThan(100);
  });
});
