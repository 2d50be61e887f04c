/**
 * The promotion guardrail: a per-model policy of bounds, the evidence the compare step gathers
 * (candidate and incumbent scored on the same rows), and the decision. Every bound becomes a named
 * check whose detail a person reads in the registry, so a refusal says which bound and by how much.
 */

import type { BinaryMetrics, FairnessGap, SliceGroup } from '../evaluation/metrics.ts';
import type { GuardrailPolicy } from '../model/policies.ts';

/** One model's metrics on the evaluation rows. */
export interface ModelEvidence {
  validation: BinaryMetrics;
  golden?: BinaryMetrics;
  slices: SliceGroup[];
  fairness: FairnessGap[];
  /** AUC on the model's own training split, when the training step reported it. */
  trainAuc?: number;
}

/** What the guardrail decides on: the candidate, and the incumbent scored on the same rows if there is one. */
export interface Evidence {
  candidate: ModelEvidence & { featureAuc: Record<string, number> };
  incumbent?: { version: number } & ModelEvidence;
}

/** One bound applied to the evidence. */
export interface Check {
  /** Stable identifier, e.g. `auc-drop` or `slice-auc-drop:home=rent`. */
  name: string;
  passed: boolean;
  /** A sentence naming the bound and the values compared. */
  detail: string;
}

/** The guardrail's verdict. */
export interface Decision {
  /** True exactly when every check passed. */
  approved: boolean;
  checks: Check[];
  /** The failed checks' details, or a one-line summary when approved. */
  reasons: string[];
}

/**
 * Differences of metrics computed here carry float noise (0.85 − 0.84 is 0.010000000000000009);
 * without this slack a candidate exactly at a bound would be refused with "0.0100 > max 0.0100".
 */
const DIFFERENCE_TOLERANCE = 1e-9;

/**
 * Evidence read back from JSON holds null where a metric was NaN; arithmetic would turn null into
 * 0 and let it pass, so anything that is not a number becomes NaN.
 */
function num(value: unknown): number {
  return typeof value === 'number' ? value : Number.NaN;
}

function fmt(value: number): string {
  return value.toFixed(4);
}

type Bound = 'min' | 'max' | 'below';

/**
 * Builds a check that passes only when the comparison holds, so NaN (for which every comparison
 * is false) fails closed. `min`: value ≥ limit; `max`: value ≤ limit; `below`: value < limit.
 */
function bounded(
  name: string,
  context: string,
  quantity: string,
  value: number,
  bound: Bound,
  limit: number,
  tolerance = 0,
): Check {
  const passed =
    bound === 'min'
      ? value >= limit - tolerance
      : bound === 'max'
        ? value <= limit + tolerance
        : value < limit;
  const label = bound === 'below' ? 'limit' : bound;
  const prefix = context ? `${context}: ` : '';
  if (Number.isNaN(value)) {
    return {
      name,
      passed,
      detail: `${prefix}${quantity} is not a number, which fails ${label} ${fmt(limit)}`,
    };
  }
  const relation = { min: ['>=', '<'], max: ['<=', '>'], below: ['<', '>='] }[bound][passed ? 0 : 1];
  return { name, passed, detail: `${prefix}${quantity} ${fmt(value)} ${relation} ${label} ${fmt(limit)}` };
}

function sliceKey(slice: string, group: string): string {
  return JSON.stringify([slice, group]);
}

/**
 * Applies every bound of the policy to the evidence. Comparisons with the incumbent run only when
 * there is one; a slice group is compared only when both models have it, the candidate's group has
 * at least `minSliceSize` rows and both AUCs are numbers. Any other NaN (or null, from JSON) fails
 * its check. Approved exactly when all checks pass.
 */
export function decide(policy: GuardrailPolicy, evidence: Evidence): Decision {
  const checks: Check[] = [];
  const cand = evidence.candidate;
  const candAuc = num(cand.validation.auc);

  checks.push(bounded('validation-auc-floor', '', 'validation AUC', candAuc, 'min', policy.minAuc));
  if (cand.golden) {
    checks.push(
      bounded('golden-auc-floor', '', 'golden AUC', num(cand.golden.auc), 'min', policy.minGoldenAuc),
    );
  }

  const inc = evidence.incumbent;
  if (inc) {
    const incAuc = num(inc.validation.auc);
    const vs = `validation AUC ${fmt(candAuc)} vs incumbent v${inc.version} ${fmt(incAuc)}`;
    checks.push(
      bounded('auc-drop', vs, 'drop', incAuc - candAuc, 'max', policy.maxAucDrop, DIFFERENCE_TOLERANCE),
    );
    if (policy.minAucGain > -1) {
      checks.push(
        bounded('auc-gain', vs, 'gain', candAuc - incAuc, 'min', policy.minAucGain, DIFFERENCE_TOLERANCE),
      );
    }
    const candLoss = num(cand.validation.logloss);
    const incLoss = num(inc.validation.logloss);
    checks.push(
      bounded(
        'logloss-increase',
        `validation log loss ${fmt(candLoss)} vs incumbent v${inc.version} ${fmt(incLoss)}`,
        'increase',
        candLoss - incLoss,
        'max',
        policy.maxLogLossIncrease,
        DIFFERENCE_TOLERANCE,
      ),
    );

    const incumbentGroups = new Map<string, SliceGroup>();
    for (const g of inc.slices) {
      const key = sliceKey(g.slice, g.group);
      if (!incumbentGroups.has(key)) incumbentGroups.set(key, g);
    }
    const judged = new Set<string>();
    for (const g of cand.slices) {
      const key = sliceKey(g.slice, g.group);
      const other = incumbentGroups.get(key);
      if (!other || judged.has(key) || !(num(g.metrics.rows) >= policy.minSliceSize)) continue;
      const a = num(g.metrics.auc);
      const b = num(other.metrics.auc);
      // A group holding one class has no AUC for either model; the floors and fairness cover it.
      if (Number.isNaN(a) || Number.isNaN(b)) continue;
      judged.add(key);
      checks.push(
        bounded(
          `slice-auc-drop:${g.slice}=${g.group}`,
          `slice "${g.slice}" group "${g.group}" (${g.metrics.rows} rows): AUC ${fmt(a)} vs incumbent v${inc.version} ${fmt(b)}`,
          'drop',
          b - a,
          'max',
          policy.maxSliceAucDrop,
          DIFFERENCE_TOLERANCE,
        ),
      );
    }
  }

  for (const gap of cand.fairness) {
    if (!(num(gap.groups) >= 2)) continue;
    const context = `slice "${gap.slice}" across ${gap.groups} groups`;
    checks.push(
      bounded(
        `positive-rate-gap:${gap.slice}`,
        context,
        'predicted-positive rate gap',
        num(gap.positiveRateGap),
        'max',
        policy.maxPositiveRateGap,
      ),
    );
    checks.push(
      bounded(
        `tpr-gap:${gap.slice}`,
        context,
        'true-positive rate gap',
        num(gap.tprGap),
        'max',
        policy.maxTprGap,
      ),
    );
  }

  for (const [feature, value] of Object.entries(cand.featureAuc)) {
    const check = bounded(
      `leakage:${feature}`,
      `feature "${feature}"`,
      'single-feature AUC',
      num(value),
      'below',
      policy.leakageAuc,
    );
    if (!check.passed) {
      check.detail += Number.isNaN(num(value))
        ? ' (it could not be computed on the validation rows, so a leak cannot be ruled out)'
        : ' (the feature alone separates the label: check it is not derived from the label)';
    }
    checks.push(check);
  }

  if (cand.trainAuc !== undefined) {
    const trainAuc = num(cand.trainAuc);
    checks.push(
      bounded(
        'validation-over-train',
        `validation AUC ${fmt(candAuc)} vs training AUC ${fmt(trainAuc)}`,
        'excess',
        candAuc - trainAuc,
        'max',
        policy.maxValidationOverTrain,
        DIFFERENCE_TOLERANCE,
      ),
    );
  }

  const failed = checks.filter((c) => !c.passed);
  const approved = failed.length === 0;
  const against = inc
    ? `incumbent v${inc.version} ${fmt(num(inc.validation.auc))}`
    : 'no incumbent to compare with';
  return {
    approved,
    checks,
    reasons: approved
      ? [`all ${checks.length} guardrail checks passed: validation AUC ${fmt(candAuc)}, ${against}`]
      : failed.map((c) => c.detail),
  };
}
