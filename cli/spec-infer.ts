/**
 * `mlops spec infer`: a starting model definition for any CSV with a binary label. Column types,
 * missing-value policies, log1p for strongly right-skewed non-negative columns, a time column and
 * evaluation slices are inferred; every choice is listed so that a person can review the file.
 */
import { basename } from 'node:path';
import { parseCsv } from '../core/features/csv.ts';
import type { FeatureDef } from '../core/features/spec.ts';
import { type ModelDefinition, parseModelDefinition } from '../core/model/definition.ts';
import { CliError } from './errors.ts';

export interface InferOptions {
  label: string;
  positive?: string;
  name?: string;
  source: string;
}

export interface Inference {
  definition: ModelDefinition;
  notes: string[];
}

const TRUE_FALSE = /^(true|false)$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

function skewness(xs: number[]): number {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  let m2 = 0;
  let m3 = 0;
  for (const x of xs) {
    const d = x - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  return m2 === 0 ? 0 : m3 / m2 ** 1.5;
}

/** A model name from a file name: lower-case letters, digits and dashes. */
export function modelNameFrom(file: string): string {
  const base = basename(file)
    .replace(/\.[^.]*$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 32);
  return base || 'model';
}

export function inferDefinition(csvText: string, opts: InferOptions): Inference {
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(csvText, opts.source);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (parsed.malformed.length > 0) {
    const m = parsed.malformed[0]!;
    throw new CliError(
      `${opts.source} has ${parsed.malformed.length} ragged row(s); line ${m.line}: ${m.reason}. Fix the file first.`,
    );
  }
  if (!parsed.header.includes(opts.label)) {
    throw new CliError(
      `${opts.source} has no column "${opts.label}" for --label (columns: ${parsed.header.join(', ')}).`,
    );
  }
  const notes: string[] = [];
  const column = (name: string) => parsed.records.map((r) => r.values[name]!.trim());

  const labels = column(opts.label);
  const emptyLabels = labels.filter((v) => v === '').length;
  const counts = new Map<string, number>();
  for (const v of labels) if (v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  if (counts.size !== 2) {
    throw new CliError(
      `Label "${opts.label}" has ${counts.size} distinct value(s) (${[...counts.keys()].slice(0, 5).join(', ')}); only binary labels are supported.`,
    );
  }
  const [a, b] = [...counts.entries()].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? 1 : -1));
  let positive = a![0];
  if (opts.positive !== undefined) {
    if (!counts.has(opts.positive)) {
      throw new CliError(
        `--positive "${opts.positive}" is not a value of "${opts.label}" (values: ${[...counts.keys()].join(', ')}).`,
      );
    }
    positive = opts.positive;
  } else {
    notes.push(
      `label ${opts.label}: positive class "${positive}" (the rarer of the two; pass --positive to choose)`,
    );
  }
  const negative = positive === a![0] ? b![0] : a![0];
  if (emptyLabels > 0)
    notes.push(`label ${opts.label}: ${emptyLabels} row(s) have no label and will be quarantined`);

  const features: FeatureDef[] = [];
  const slices: ModelDefinition['spec']['slices'] = [];
  let timeColumn: string | undefined;
  const rows = parsed.records.length;
  for (const name of parsed.header) {
    if (name === opts.label) continue;
    const cells = column(name);
    const present = cells.filter((v) => v !== '');
    const missing = rows - present.length;
    if (present.length === 0) {
      notes.push(`${name}: skipped, always empty`);
      continue;
    }
    const missingNote = missing > 0 ? `, ${missing} missing (passed to XGBoost as missing)` : '';
    if (present.every((v) => TRUE_FALSE.test(v))) {
      features.push({ name, type: 'boolean', missing: 'native' });
      notes.push(`${name}: boolean${missingNote}`);
      continue;
    }
    const numbers = present.map(Number);
    if (numbers.every(Number.isFinite)) {
      const transforms: ('log1p' | { clip: { lower: number; upper: number } })[] = [];
      const min = Math.min(...numbers);
      const skew = skewness(numbers);
      if (min >= 0 && skew > 2) transforms.push('log1p');
      features.push({ name, type: 'numeric', missing: 'native', transforms });
      notes.push(
        `${name}: numeric${transforms.length ? `, log1p (skewness ${skew.toFixed(1)})` : ''}${missingNote}`,
      );
      continue;
    }
    if (!timeColumn && present.every((v) => ISO_DATE.test(v) && Number.isFinite(Date.parse(v)))) {
      timeColumn = name;
      notes.push(
        `${name}: time column (ISO dates); not a feature; set training.split to "time" to hold out the latest rows`,
      );
      continue;
    }
    const distinct = new Set(present).size;
    if (distinct > 50 && distinct > present.length / 2) {
      notes.push(
        `${name}: skipped, looks like an identifier (${distinct} distinct values in ${present.length} rows)`,
      );
      continue;
    }
    features.push({ name, type: 'categorical', missing: 'native', minCount: 1, maxCategories: 100 });
    notes.push(`${name}: categorical, ${distinct} categories${missingNote}`);
    // Per-group AUC is watched for every small categorical; fairness bounds are for attributes of
    // people, which only a person can name, so they start off.
    if (distinct >= 2 && distinct <= 10) {
      slices.push({
        name: `by-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        feature: name,
        fairness: false,
      });
    }
  }
  if (slices.length > 0) {
    notes.push(
      `slices ${slices.map((sl) => sl.feature).join(', ')}: per-group AUC is checked against the incumbent; set "fairness": true on slices that are attributes of people to bound the gaps between their groups`,
    );
  }
  if (features.length === 0)
    throw new CliError(`${opts.source} has no usable feature columns besides "${opts.label}".`);
  const raw = {
    name: opts.name ?? modelNameFrom(opts.source),
    description: `Inferred from ${basename(opts.source)}: probability that ${opts.label} is "${positive}".`,
    spec: {
      version: 1,
      label: { column: opts.label, positive, negative },
      ...(timeColumn ? { timeColumn } : {}),
      features,
      slices,
    },
    training: {
      seed: 42,
      split: 'hash',
      validationFraction: 0.2,
      goldenFraction: 0.1,
      maxInvalidFraction: 0.05,
      hyperparameters: { num_round: 100, max_depth: 4, eta: 0.1, subsample: 0.8 },
    },
    serving: { threshold: 0.5, maxInstancesPerRequest: 100 },
    guardrail: { minAuc: 0.6 },
    drift: { psiAlarm: 0.2, minSamples: 100 },
  };
  let definition: ModelDefinition;
  try {
    definition = parseModelDefinition(raw, 'the inferred definition');
  } catch (err) {
    throw new CliError(
      `${(err as Error).message}\nPass --name with a valid model name (lower-case letters, digits and -).`,
    );
  }
  return { definition, notes };
}
