import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BinaryMetrics, FairnessGap, SliceGroup } from '../../core/evaluation/metrics.ts';
import { type GuardrailPolicy, guardrailPolicySchema } from '../../core/model/policies.ts';
import { type Decision, decide, type Evidence, type ModelEvidence } from '../../core/policy/guardrail.ts';

const defaults: GuardrailPolicy = guardrailPolicySchema.parse({});

function metrics(partial: Partial<BinaryMetrics> = {}): BinaryMetrics {
  return {
    rows: 500,
    positives: 150,
    auc: 0.8,
    logloss: 0.45,
    accuracy: 0.78,
    precision: 0.7,
    recall: 0.6,
    positiveRate: 0.25,
    expectedCalibrationError: 0.03,
    ...partial,
  };
}

function group(slice: string, name: string, partial: Partial<BinaryMetrics> = {}): SliceGroup {
  return { slice, group: name, metrics: metrics(partial) };
}

/** Evidence that passes every default bound; each test changes one thing. */
function passing(): Evidence {
  return {
    candidate: {
      validation: metrics({ auc: 0.8 }),
      golden: metrics({ auc: 0.79 }),
      slices: [
        group('home', 'rent', { rows: 200, auc: 0.78 }),
        group('home', 'owner', { rows: 300, auc: 0.82 }),
      ],
      fairness: [{ slice: 'home', positiveRateGap: 0.1, tprGap: 0.1, groups: 2 }],
      trainAuc: 0.85,
      featureAuc: { Income: 0.7, Seniority: 0.65 },
    },
    incumbent: {
      version: 3,
      validation: metrics({ auc: 0.795, logloss: 0.46 }),
      slices: [
        group('home', 'rent', { rows: 200, auc: 0.79 }),
        group('home', 'owner', { rows: 300, auc: 0.81 }),
      ],
      fairness: [],
    },
  };
}

function check(decision: Decision, name: string) {
  const found = decision.checks.find((c) => c.name === name);
  if (!found)
    throw new Error(`no check named ${name} among ${decision.checks.map((c) => c.name).join(', ')}`);
  return found;
}

describe('guardrail policy schema', () => {
  it('fills every default and refuses unknown keys and out-of-range bounds', () => {
    expect(defaults).toEqual({
      minAuc: 0.6,
      minGoldenAuc: 0.6,
      maxAucDrop: 0.01,
      minAucGain: -1,
      maxLogLossIncrease: 0.02,
      maxSliceAucDrop: 0.05,
      minSliceSize: 30,
      maxPositiveRateGap: 0.3,
      maxTprGap: 0.3,
      leakageAuc: 0.99,
      maxValidationOverTrain: 0.05,
    });
    expect(guardrailPolicySchema.safeParse({ minAUC: 0.7 }).success).toBe(false);
    expect(guardrailPolicySchema.safeParse({ leakageAuc: 0.4 }).success).toBe(false);
    expect(guardrailPolicySchema.safeParse({ minSliceSize: 0 }).success).toBe(false);
  });
});

describe('decide', () => {
  it('approves evidence within every bound, with a one-line summary', () => {
    const d = decide(defaults, passing());
    expect(d.approved).toBe(true);
    expect(d.checks.every((c) => c.passed)).toBe(true);
    expect(d.reasons).toEqual([
      `all ${d.checks.length} guardrail checks passed: validation AUC 0.8000, incumbent v3 0.7950`,
    ]);
  });

  it('refuses a validation AUC below the floor, and a NaN one', () => {
    const e = passing();
    e.candidate.validation.auc = 0.55;
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'validation-auc-floor').detail).toBe('validation AUC 0.5500 < min 0.6000');
    expect(d.reasons).toContain('validation AUC 0.5500 < min 0.6000');

    expect(check(decide(defaults, passing()), 'validation-auc-floor')).toEqual({
      name: 'validation-auc-floor',
      passed: true,
      detail: 'validation AUC 0.8000 >= min 0.6000',
    });

    const nan = passing();
    nan.candidate.validation.auc = Number.NaN;
    const dn = decide({ ...defaults, minAuc: 0 }, nan);
    expect(dn.approved).toBe(false);
    expect(check(dn, 'validation-auc-floor').detail).toBe(
      'validation AUC is not a number, which fails min 0.0000',
    );
  });

  it('checks the golden floor only when there is a golden split', () => {
    const e = passing();
    e.candidate.golden = metrics({ auc: 0.59 });
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'golden-auc-floor').detail).toBe('golden AUC 0.5900 < min 0.6000');
    expect(check(decide(defaults, passing()), 'golden-auc-floor').passed).toBe(true);

    const none = passing();
    delete none.candidate.golden;
    expect(decide(defaults, none).checks.map((c) => c.name)).not.toContain('golden-auc-floor');
  });

  it('refuses an AUC drop beyond the bound against the incumbent, and passes one exactly at it', () => {
    const e = passing();
    e.candidate.validation.auc = 0.8123;
    e.incumbent!.validation.auc = 0.8456;
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'auc-drop').detail).toBe(
      'validation AUC 0.8123 vs incumbent v3 0.8456: drop 0.0333 > max 0.0100',
    );

    // 0.85 − 0.84 is 0.010000000000000009 in floating point: still "at" the bound.
    const atBound = passing();
    atBound.candidate.validation.auc = 0.84;
    atBound.incumbent!.validation.auc = 0.85;
    const da = decide(defaults, atBound);
    expect(check(da, 'auc-drop')).toEqual({
      name: 'auc-drop',
      passed: true,
      detail: 'validation AUC 0.8400 vs incumbent v3 0.8500: drop 0.0100 <= max 0.0100',
    });
  });

  it('refuses an incumbent comparison it cannot make (incumbent AUC NaN)', () => {
    const e = passing();
    e.incumbent!.validation.auc = Number.NaN;
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'auc-drop').detail).toBe(
      'validation AUC 0.8000 vs incumbent v3 NaN: drop is not a number, which fails max 0.0100',
    );
  });

  it('requires the AUC gain only when minAucGain is above -1', () => {
    expect(decide(defaults, passing()).checks.map((c) => c.name)).not.toContain('auc-gain');
    const policy = { ...defaults, minAucGain: 0.01 };
    const d = decide(policy, passing());
    expect(d.approved).toBe(false);
    expect(check(d, 'auc-gain').detail).toBe(
      'validation AUC 0.8000 vs incumbent v3 0.7950: gain 0.0050 < min 0.0100',
    );
    const better = passing();
    better.candidate.validation.auc = 0.81;
    expect(check(decide(policy, better), 'auc-gain')).toMatchObject({
      passed: true,
      detail: 'validation AUC 0.8100 vs incumbent v3 0.7950: gain 0.0150 >= min 0.0100',
    });
  });

  it('refuses a log-loss increase beyond the bound', () => {
    const e = passing();
    e.candidate.validation.logloss = 0.5;
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'logloss-increase').detail).toBe(
      'validation log loss 0.5000 vs incumbent v3 0.4600: increase 0.0400 > max 0.0200',
    );
    expect(check(decide(defaults, passing()), 'logloss-increase').detail).toBe(
      'validation log loss 0.4500 vs incumbent v3 0.4600: increase -0.0100 <= max 0.0200',
    );
  });

  it('makes no comparison checks without an incumbent', () => {
    const e = passing();
    delete e.incumbent;
    const d = decide({ ...defaults, minAucGain: 0.5 }, e);
    expect(d.approved).toBe(true);
    expect(d.checks.map((c) => c.name).filter((n) => /drop|gain|logloss/.test(n))).toEqual([]);
    expect(d.reasons[0]).toMatch(/no incumbent to compare with$/);
  });

  it('refuses a slice group whose AUC drops beyond the bound, judging only groups large enough in both', () => {
    const e = passing();
    e.candidate.slices = [
      group('home', 'rent', { rows: 200, auc: 0.7 }),
      group('home', 'owner', { rows: 29, auc: 0.5 }), // too small to judge
      group('age', 'young', { rows: 30, auc: 0.7 }), // exactly large enough
      group('home', 'parents', { rows: 100, auc: 0.5 }), // the incumbent has no such group
      group('home', 'other', { rows: 100, auc: Number.NaN }), // one class: no AUC
    ];
    e.incumbent!.slices = [
      group('home', 'rent', { rows: 200, auc: 0.78 }),
      group('home', 'owner', { rows: 300, auc: 0.9 }),
      group('home', 'other', { rows: 100, auc: 0.9 }),
      group('age', 'young', { rows: 30, auc: 0.7 }),
    ];
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(d.checks.filter((c) => c.name.startsWith('slice-auc-drop')).map((c) => c.name)).toEqual([
      'slice-auc-drop:home=rent',
      'slice-auc-drop:age=young',
    ]);
    expect(check(d, 'slice-auc-drop:home=rent').detail).toBe(
      'slice "home" group "rent" (200 rows): AUC 0.7000 vs incumbent v3 0.7800: drop 0.0800 > max 0.0500',
    );
    expect(check(decide(defaults, passing()), 'slice-auc-drop:home=owner')).toMatchObject({
      passed: true,
      detail:
        'slice "home" group "owner" (300 rows): AUC 0.8200 vs incumbent v3 0.8100: drop -0.0100 <= max 0.0500',
    });
  });

  it('refuses fairness gaps beyond the bounds and ignores slices with fewer than 2 judged groups', () => {
    const e = passing();
    e.candidate.fairness = [
      { slice: 'home', positiveRateGap: 0.35, tprGap: 0.3, groups: 3 },
      { slice: 'age', positiveRateGap: 0.9, tprGap: 0.9, groups: 1 },
    ];
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'positive-rate-gap:home')).toEqual({
      name: 'positive-rate-gap:home',
      passed: false,
      detail: 'slice "home" across 3 groups: predicted-positive rate gap 0.3500 > max 0.3000',
    });
    expect(check(d, 'tpr-gap:home')).toEqual({
      name: 'tpr-gap:home',
      passed: true,
      detail: 'slice "home" across 3 groups: true-positive rate gap 0.3000 <= max 0.3000',
    });
    expect(d.checks.map((c) => c.name).filter((n) => n.endsWith(':age'))).toEqual([]);
    expect(d.reasons).toEqual([
      'slice "home" across 3 groups: predicted-positive rate gap 0.3500 > max 0.3000',
    ]);

    const tpr = passing();
    tpr.candidate.fairness = [{ slice: 'home', positiveRateGap: 0, tprGap: 0.31, groups: 2 }];
    expect(check(decide(defaults, tpr), 'tpr-gap:home').passed).toBe(false);
  });

  it('refuses a feature whose AUC alone reaches the leak bound, naming it, and one it could not compute', () => {
    const e = passing();
    e.candidate.featureAuc = { Income: 0.7, Status: 0.99, Sparse: Number.NaN };
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'leakage:Income').passed).toBe(true);
    expect(check(d, 'leakage:Income').detail).toBe(
      'feature "Income": single-feature AUC 0.7000 < limit 0.9900',
    );
    expect(check(d, 'leakage:Status').detail).toBe(
      'feature "Status": single-feature AUC 0.9900 >= limit 0.9900 (the feature alone separates the label: check it is not derived from the label)',
    );
    expect(check(d, 'leakage:Sparse').passed).toBe(false);
    expect(check(d, 'leakage:Sparse').detail).toMatch(
      /^feature "Sparse": single-feature AUC is not a number/,
    );
    expect(d.reasons).toHaveLength(2);
  });

  it('refuses a validation AUC too far above the training AUC', () => {
    const e = passing();
    e.candidate.trainAuc = 0.74;
    const d = decide(defaults, e);
    expect(d.approved).toBe(false);
    expect(check(d, 'validation-over-train').detail).toBe(
      'validation AUC 0.8000 vs training AUC 0.7400: excess 0.0600 > max 0.0500',
    );
    expect(check(decide(defaults, passing()), 'validation-over-train').detail).toBe(
      'validation AUC 0.8000 vs training AUC 0.8500: excess -0.0500 <= max 0.0500',
    );
    const none = passing();
    delete none.candidate.trainAuc;
    expect(decide(defaults, none).checks.map((c) => c.name)).not.toContain('validation-over-train');
  });

  it('fails closed on evidence read back from JSON, where NaN became null', () => {
    const e = passing();
    e.candidate.validation.auc = Number.NaN;
    e.incumbent!.validation.logloss = Number.NaN;
    const roundTripped = JSON.parse(JSON.stringify(e)) as Evidence;
    const d = decide({ ...defaults, minAuc: 0 }, roundTripped);
    expect(d.approved).toBe(false);
    expect(d.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([
      'validation-auc-floor',
      'auc-drop',
      'logloss-increase',
      'validation-over-train',
    ]);
  });
});

// ---- property: decide approves exactly when no bound is violated ----

const TOL = 1e-9;
const SLICES = ['home', 'age'];
const GROUPS = ['a', 'b', 'c'];
const FEATURES = ['f1', 'f2', 'f3', 'f4'];

/** Values a person would pick, bounds themselves included, so equality at a bound is exercised. */
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 0.01, 0.05, 0.3, 0.5, 0.6, 0.7, 0.8, 0.84, 0.85, 0.99, 1) },
);
const metric = fc.oneof({ weight: 12, arbitrary: unit }, { weight: 1, arbitrary: fc.constant(Number.NaN) });
/** Bounds that are sometimes as lax as the schema allows, so that approvals are common too. */
const lax = (value: number, strict: fc.Arbitrary<number>) =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(value) }, { weight: 1, arbitrary: strict });

const policyArb: fc.Arbitrary<GuardrailPolicy> = fc.record({
  minAuc: lax(0, unit),
  minGoldenAuc: lax(0, unit),
  maxAucDrop: lax(1, unit),
  minAucGain: lax(-1, fc.double({ min: -1, max: 1, noNaN: true })),
  maxLogLossIncrease: lax(1, fc.oneof(unit, fc.double({ min: 0, max: 5, noNaN: true }))),
  maxSliceAucDrop: lax(1, unit),
  minSliceSize: fc.oneof(fc.constant(30), fc.integer({ min: 1, max: 120 })),
  maxPositiveRateGap: lax(1, unit),
  maxTprGap: lax(1, unit),
  leakageAuc: lax(1, fc.double({ min: 0.5, max: 1, noNaN: true })),
  maxValidationOverTrain: lax(1, unit),
});

const metricsArb: fc.Arbitrary<BinaryMetrics> = fc.record({
  rows: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(29, 30, 31)),
  positives: fc.integer({ min: 0, max: 100 }),
  auc: metric,
  logloss: metric,
  accuracy: metric,
  precision: metric,
  recall: metric,
  positiveRate: metric,
  expectedCalibrationError: metric,
});

const slicesArb: fc.Arbitrary<SliceGroup[]> = fc.uniqueArray(
  fc.record({ slice: fc.constantFrom(...SLICES), group: fc.constantFrom(...GROUPS), metrics: metricsArb }),
  { maxLength: 6, selector: (g) => `${g.slice}/${g.group}` },
);

const fairnessArb: fc.Arbitrary<FairnessGap[]> = fc.uniqueArray(
  fc.record({
    slice: fc.constantFrom(...SLICES),
    positiveRateGap: metric,
    tprGap: metric,
    groups: fc.integer({ min: 0, max: 4 }),
  }),
  { maxLength: 2, selector: (g) => g.slice },
);

const featureAucArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...FEATURES), metric), { maxLength: 4, selector: ([f]) => f })
  .map((pairs) => Object.fromEntries(pairs));

function modelEvidenceArb(): fc.Arbitrary<ModelEvidence> {
  return fc.record(
    {
      validation: metricsArb,
      golden: metricsArb,
      slices: slicesArb,
      fairness: fairnessArb,
      trainAuc: metric,
    },
    { requiredKeys: ['validation', 'slices', 'fairness'] },
  );
}

const evidenceArb: fc.Arbitrary<Evidence> = fc.record(
  {
    candidate: fc
      .tuple(modelEvidenceArb(), featureAucArb)
      .map(([m, featureAuc]): Evidence['candidate'] => ({ ...m, featureAuc })),
    incumbent: fc
      .tuple(fc.integer({ min: 1, max: 50 }), modelEvidenceArb())
      .map(([version, m]): NonNullable<Evidence['incumbent']> => ({ version, ...m })),
  },
  { requiredKeys: ['candidate'] },
);

/** The rules written out one by one: the names of the checks that must fail. */
function violations(p: GuardrailPolicy, e: Evidence): string[] {
  const failed: string[] = [];
  const c = e.candidate;
  const cAuc = c.validation.auc;

  if (Number.isNaN(cAuc) || cAuc < p.minAuc) failed.push('validation-auc-floor');

  if (c.golden !== undefined) {
    const g = c.golden.auc;
    if (Number.isNaN(g) || g < p.minGoldenAuc) failed.push('golden-auc-floor');
  }

  const inc = e.incumbent;
  if (inc !== undefined) {
    const iAuc = inc.validation.auc;
    const drop = iAuc - cAuc;
    if (Number.isNaN(drop) || drop > p.maxAucDrop + TOL) failed.push('auc-drop');

    if (p.minAucGain > -1) {
      const gain = cAuc - iAuc;
      if (Number.isNaN(gain) || gain < p.minAucGain - TOL) failed.push('auc-gain');
    }

    const increase = c.validation.logloss - inc.validation.logloss;
    if (Number.isNaN(increase) || increase > p.maxLogLossIncrease + TOL) failed.push('logloss-increase');

    for (const cg of c.slices) {
      const ig = inc.slices.find((g) => g.slice === cg.slice && g.group === cg.group);
      if (ig === undefined) continue;
      if (cg.metrics.rows < p.minSliceSize) continue;
      if (Number.isNaN(cg.metrics.auc) || Number.isNaN(ig.metrics.auc)) continue;
      if (ig.metrics.auc - cg.metrics.auc > p.maxSliceAucDrop + TOL) {
        failed.push(`slice-auc-drop:${cg.slice}=${cg.group}`);
      }
    }
  }

  for (const gap of c.fairness) {
    if (gap.groups < 2) continue;
    if (Number.isNaN(gap.positiveRateGap) || gap.positiveRateGap > p.maxPositiveRateGap) {
      failed.push(`positive-rate-gap:${gap.slice}`);
    }
    if (Number.isNaN(gap.tprGap) || gap.tprGap > p.maxTprGap) failed.push(`tpr-gap:${gap.slice}`);
  }

  for (const [feature, value] of Object.entries(c.featureAuc)) {
    if (Number.isNaN(value) || value >= p.leakageAuc) failed.push(`leakage:${feature}`);
  }

  if (c.trainAuc !== undefined) {
    const excess = cAuc - c.trainAuc;
    if (Number.isNaN(excess) || excess > p.maxValidationOverTrain + TOL) failed.push('validation-over-train');
  }

  return failed;
}

describe('decide (property)', () => {
  it('approves exactly when no bound is violated, and names every violated check', () => {
    let approvals = 0;
    let refusals = 0;
    fc.assert(
      fc.property(policyArb, evidenceArb, (policy, evidence) => {
        expect(guardrailPolicySchema.safeParse(policy).success).toBe(true);
        const expected = violations(policy, evidence);
        const d = decide(policy, evidence);
        const failed = d.checks.filter((c) => !c.passed);

        expect(d.approved).toBe(expected.length === 0);
        expect(failed.map((c) => c.name).sort()).toEqual([...expected].sort());
        if (d.approved) {
          expect(d.reasons).toHaveLength(1);
          approvals++;
        } else {
          expect(d.reasons).toEqual(failed.map((c) => c.detail));
          refusals++;
        }
        for (const c of d.checks) expect(c.detail).not.toBe('');
      }),
      { numRuns: 2000 },
    );
    // The generators must reach both outcomes often, or the property proves little.
    expect(approvals).toBeGreaterThan(100);
    expect(refusals).toBeGreaterThan(100);
  });
});
