/**
 * The canary policy: how a candidate serves a share of traffic beside production before it takes
 * all of it, and the linear path its share follows.
 */
import { z } from 'zod';

/**
 * Before taking all traffic, the candidate serves `weight` of it for `bakeSeconds` while its
 * served scores are compared with the incumbent's (PSI); above `maxScorePsi` it is rolled
 * back and the incumbent keeps serving. `weight` 0 skips the canary. When either side has
 * served fewer than `minSamples` predictions, the bake is repeated, up to `maxBakes` bakes
 * in all; after that `lowTraffic` decides: `promote` on the offline evidence alone (the
 * reason is recorded), or `rollback`. A canary whose variant fails more than `maxErrorRate`
 * of its predictions, or whose p95 latency exceeds the incumbent's by more than
 * `maxLatencyRatio` (plus `latencySlackMs`), is rolled back too.
 */
export const canarySettingsSchema = z
  .object({
    weight: z.number().min(0).lt(1).default(0.1),
    bakeSeconds: z.number().int().min(0).max(86_400).default(600),
    minSamples: z.number().int().min(1).default(50),
    maxScorePsi: z.number().positive().default(0.25),
    maxBakes: z.number().int().min(1).max(100).default(3),
    /**
     * Linear steps: the canary's share rises from `weight` towards 100% in this many steps,
     * each baked and judged (1: straight from `weight` to 100% after one healthy bake).
     */
    steps: z.number().int().min(1).max(10).default(1),
    lowTraffic: z.enum(['promote', 'rollback']).default('promote'),
    /** Share of the canary's predictions that may fail (scored by its variant). */
    maxErrorRate: z.number().min(0).max(1).default(0.01),
    /** The canary's p95 request latency may be at most the incumbent's times this, plus the slack. */
    maxLatencyRatio: z.number().min(1).default(2),
    latencySlackMs: z.number().int().min(0).default(50),
  })
  .strict();

export type CanarySettings = z.infer<typeof canarySettingsSchema>;

/**
 * The share after `current` on the linear path from `weight` to 100% in `steps` steps
 * (weight + (1 - weight) * k / steps, k = 0 .. steps - 1); undefined after the last step.
 */
export function nextStepWeight(weight: number, steps: number, current: number): number | undefined {
  const k = Math.round(((current - weight) / (1 - weight)) * steps);
  if (k + 1 >= steps) return undefined;
  return Math.round((weight + ((1 - weight) * (k + 1)) / steps) * 1e6) / 1e6;
}
