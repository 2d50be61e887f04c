/**
 * Champion/challenger evaluation, the first step of the promotion pipeline: scores the candidate
 * and the current production model on the same frozen rows (the candidate snapshot's validation
 * and golden splits, kept raw so that each model computes its own features), with the same scorer,
 * per slice, with fairness gaps and a single-feature leakage check. The evidence is written to the
 * lake; the guardrail step decides on it.
 */
import { lakeKeys } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { binaryMetrics, fairnessGaps, singleFeatureAuc, sliceGroups } from '../../core/evaluation/metrics.ts';
import { type CleanRow, transformRow } from '../../core/features/transform.ts';
import type { Evidence, ModelEvidence } from '../../core/policy/guardrail.ts';
import type { Clock, ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import { loadServingModel } from '../../core/serving/load.ts';

export interface CompareInput {
  model: string;
  version: number;
}

export interface CompareOutput {
  model: string;
  version: number;
  incumbent: number | null;
  /** The production version when the comparison ran; the alias may only move from this one. */
  productionAtComparison: number | null;
  /** Share of traffic the candidate gets as a canary (0: no canary). */
  canaryWeight: number;
  /** Seconds the candidate shadows production before its canary (0: no shadow). */
  shadowBakeSeconds: number;
  /** Why the incumbent could not be scored on the candidate's rows, when it could not. */
  incumbentNote?: string;
  evidenceKey: string;
}

interface EvalRow {
  split: 'validation' | 'golden';
  line: number;
  label: 0 | 1;
  row: CleanRow;
}

async function scoreOn(lake: ObjectStore, v: ModelVersion, rows: EvalRow[]): Promise<Float64Array> {
  const serving = await loadServingModel(lake, v.version, v.artifacts);
  return serving.model.predictBatch(
    rows.map((r) => transformRow(v.definition.spec, serving.transform, r.row)),
  );
}

function evidenceFor(
  v: ModelVersion,
  candidate: ModelVersion,
  rows: EvalRow[],
  scores: Float64Array,
  minSliceSize: number,
): ModelEvidence {
  const threshold = v.definition.serving.threshold;
  const idx = (split: EvalRow['split']) => rows.flatMap((r, i) => (r.split === split ? [i] : []));
  const pick = (ids: number[]) => ({
    scores: Float64Array.from(ids, (i) => scores[i]!),
    labels: Uint8Array.from(ids, (i) => rows[i]!.label),
    rows: ids.map((i) => rows[i]!.row),
  });
  const validation = pick(idx('validation'));
  const goldenIds = idx('golden');
  const golden = goldenIds.length > 0 ? pick(goldenIds) : undefined;
  // Slices are the candidate's, so that both models are judged on the same groups.
  const slices = sliceGroups(
    candidate.definition.spec.slices,
    validation.rows,
    validation.scores,
    validation.labels,
    threshold,
  );
  const fairnessSlices = new Set(
    candidate.definition.spec.slices.filter((sl) => sl.fairness).map((sl) => sl.name),
  );
  const trainAuc = (v.metrics.training as { train?: { auc?: number } } | undefined)?.train?.auc;
  return {
    validation: binaryMetrics(validation.scores, validation.labels, threshold),
    ...(golden ? { golden: binaryMetrics(golden.scores, golden.labels, threshold) } : {}),
    slices,
    fairness: fairnessGaps(
      slices.filter((g) => fairnessSlices.has(g.slice)),
      minSliceSize,
    ),
    ...(typeof trainAuc === 'number' ? { trainAuc } : {}),
  };
}

export async function compareModels(
  input: CompareInput,
  deps: { registry: ModelRegistryPort; lake: ObjectStore; clock: Clock },
): Promise<CompareOutput> {
  const candidate = await deps.registry.requireVersion(input.model, input.version);
  if (!candidate.artifacts.evalRows) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `Model "${input.model}" version ${input.version} has no frozen evaluation rows (it predates them); retrain it.`,
    );
  }
  const rows = (await deps.lake.getText(candidate.artifacts.evalRows))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EvalRow);
  const policy = candidate.definition.guardrail;
  const candidateScores = await scoreOn(deps.lake, candidate, rows);
  const validationRows = rows.filter((r) => r.split === 'validation');
  const evidence: Evidence = {
    candidate: {
      ...evidenceFor(candidate, candidate, rows, candidateScores, policy.minSliceSize),
      featureAuc: singleFeatureAuc(
        candidate.definition.spec.features,
        validationRows.map((r) => r.row),
        Uint8Array.from(validationRows, (r) => r.label),
      ),
    },
  };
  const alias = await deps.registry.getAlias(input.model);
  let incumbentNote: string | undefined;
  if (alias && alias.current !== input.version) {
    const incumbent = await deps.registry.requireVersion(input.model, alias.current);
    const missing = incumbent.definition.spec.features
      .map((f) => f.name)
      .filter((name) => !(name in (rows[0]?.row ?? {})));
    if (missing.length > 0) {
      incumbentNote = `incumbent v${incumbent.version} uses feature(s) ${missing.join(', ')} that the candidate's rows do not have; it was not compared`;
    } else {
      const scores = await scoreOn(deps.lake, incumbent, rows);
      evidence.incumbent = {
        version: incumbent.version,
        ...evidenceFor(incumbent, candidate, rows, scores, policy.minSliceSize),
      };
    }
  }
  const at = deps.clock.now().toISOString();
  const evidenceKey = lakeKeys.evidence(input.model, input.version, at);
  await deps.lake.put(
    evidenceKey,
    `${JSON.stringify({ model: input.model, version: input.version, at, incumbentNote, evidence }, null, 2)}\n`,
    'application/json',
  );
  return {
    model: input.model,
    version: input.version,
    incumbent: evidence.incumbent?.version ?? null,
    productionAtComparison: alias?.current ?? null,
    canaryWeight: candidate.definition.promotion.canary.weight,
    shadowBakeSeconds: candidate.definition.promotion.shadow.bakeSeconds,
    ...(incumbentNote ? { incumbentNote } : {}),
    evidenceKey,
  };
}
