/** The shadow policy: how long a candidate scores a copy of production's requests, and how closely it must agree. */
import { z } from 'zod';

/**
 * Before the canary, the candidate scores a copy of production's requests for
 * `bakeSeconds` without answering them (0: no shadow); the agreement with production (same
 * label, score difference, score PSI) is reported. Below `minAgreement` (0: report only)
 * the candidate is rolled back before it answers anyone.
 */
export const shadowSettingsSchema = z
  .object({
    bakeSeconds: z.number().int().min(0).max(86_400).default(0),
    minSamples: z.number().int().min(1).default(50),
    maxBakes: z.number().int().min(1).max(100).default(3),
    minAgreement: z.number().min(0).max(1).default(0),
  })
  .strict();

export type ShadowSettings = z.infer<typeof shadowSettingsSchema>;
