/**
 * Where a version's scores come from. In the `lambda` serving mode the predict function scores with
 * the TypeScript scorer in-process; in the `endpoint` mode it sends the feature vectors to the
 * model's SageMaker endpoint, naming the version's variant.
 *
 * Why the predict function names the variant instead of letting the endpoint's weights pick one:
 * each version has its own fitted transform (vocabularies, imputation values, clip bounds), so the
 * vector depends on the version and must be computed before the call. The split is the same one
 * the endpoint's weights hold (the registry's canary weight, by request id), and the variant that
 * answered is checked against the one asked for.
 */
import type { ModelRuntime } from '../ports.ts';

/** The `lambda` mode: the TypeScript scorer, in-process. */
export const inProcessRuntime: ModelRuntime = {
  mode: 'lambda',
  async score(_model, serving, vectors) {
    const scores =
      vectors.length === 1
        ? [serving.model.predictOne(vectors[0]!)]
        : serving.model.predictBatch([...vectors]);
    return { scores, variant: `v${serving.version}` };
  },
};

/** The serving contract of the endpoint: numeric CSV rows in, an empty cell for a missing value. */
export function vectorsToCsv(vectors: readonly ArrayLike<number>[]): string {
  return vectors
    .map((v) => {
      const cells: string[] = [];
      for (let i = 0; i < v.length; i++) cells.push(Number.isNaN(v[i]!) ? '' : String(v[i]));
      return cells.join(',');
    })
    .join('\n');
}

/**
 * A runtime's refusal to call a variant that keeps failing: its circuit is open, so the request is
 * answered at once (503 with `Retry-After`) instead of waiting on a call that would most likely fail.
 */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpen';
  constructor(
    /** The variant whose circuit is open (`v<N>`). */
    readonly variant: string,
    /** Whole seconds until the circuit lets a trial call through (at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super(`variant ${variant} keeps failing; its circuit is open for ${retryAfterSeconds} s more`);
  }
}
