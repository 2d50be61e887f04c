/**
 * Drift job: for each model in production, compares the distribution of the scores it served in the
 * last window with the score distribution of its validation set at training time (population
 * stability index), and publishes the figure as a metric that the drift alarm watches.
 * Too few predictions in the window publish nothing: a PSI on a handful of rows is noise.
 */

import { psi, scoreHistogram } from '../../core/drift/statistics.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { Clock, ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import { isScored, type PredictionRecord } from '../../core/prediction-log.ts';

export interface DriftInput {
  /** Window length in minutes; default 60. */
  windowMinutes?: number;
}

export interface DriftResult {
  model: string;
  version?: number;
  samples: number;
  psi?: number;
  status: 'published' | 'insufficient-samples' | 'no-production-model';
}

export interface DriftDeps {
  registry: Pick<ModelRegistryPort, 'getAlias' | 'getVersion'>;
  lake: Pick<ObjectStore, 'getText'>;
  readWindow: (model: string, from: Date, to: Date) => Promise<PredictionRecord[]>;
  publish: (model: string, psi: number, samples: number) => void;
  clock: Clock;
}

export async function runDriftJob(
  input: DriftInput,
  models: ModelDefinition[],
  deps: DriftDeps,
): Promise<DriftResult[]> {
  const windowMinutes = input.windowMinutes ?? 60;
  const to = deps.clock.now();
  const from = new Date(to.getTime() - windowMinutes * 60_000);
  const results: DriftResult[] = [];
  for (const def of models) {
    const alias = await deps.registry.getAlias(def.name);
    if (!alias) {
      results.push({ model: def.name, samples: 0, status: 'no-production-model' });
      continue;
    }
    const rows = (await deps.readWindow(def.name, from, to))
      .filter(isScored)
      .filter((r) => r.modelVersion === alias.current);
    if (rows.length < def.drift.minSamples) {
      results.push({
        model: def.name,
        version: alias.current,
        samples: rows.length,
        status: 'insufficient-samples',
      });
      continue;
    }
    const version = await deps.registry.getVersion(def.name, alias.current);
    if (!version) continue;
    const evaluation = JSON.parse(await deps.lake.getText(version.artifacts.evaluation)) as {
      scoreHistogram: number[];
    };
    const value = psi(evaluation.scoreHistogram, scoreHistogram(rows.map((r) => r.score)));
    deps.publish(def.name, value, rows.length);
    results.push({
      model: def.name,
      version: alias.current,
      samples: rows.length,
      psi: value,
      status: 'published',
    });
  }
  return results;
}
