/**
 * The shadow stage of the promotion pipeline: the candidate scores a copy of production's requests
 * without answering them (the predict function logs its scores with the route `shadow`), and the
 * agreement with production on the same requests is reported (`judgeShadow`). Below the model's
 * `minAgreement` the candidate is rolled back before it answers anyone.
 */

import { errorNames, PlatformError } from '../../core/errors.ts';
import { judgeShadow, type ShadowReport, shadowRows } from '../../core/policy/shadow.ts';
import type { Clock, ModelRegistryPort, PredictionWindowReader } from '../../core/ports.ts';
import type { ShadowState } from '../../core/registry/model.ts';

/** The ports the shadow actions use. */
export interface ShadowDeps {
  registry: Pick<
    ModelRegistryPort,
    'requireVersion' | 'getAlias' | 'startShadow' | 'endShadow' | 'transition'
  >;
  readWindow: PredictionWindowReader;
  clock: Clock;
}

/** What `shadow-start` returns: the shadow as it now runs, how long it bakes, and a fresh bake count. */
export type ShadowStarted = ShadowState & { bakeSeconds: number; bakes: 0 };

/**
 * What `shadow-end` receives: the shadow check's report, or the pipeline's own `{verdict: 'error',
 * summary}` when the check itself failed. It is recorded whole.
 */
export interface ShadowEndReport {
  verdict?: string;
  summary?: string;
  [field: string]: unknown;
}

/** What `shadow-end` returns: whether the candidate goes on to the canary (else it was rolled back). */
export interface ShadowEnded {
  model: string;
  version: number;
  passed: boolean;
}

/** Starts the shadow of `version` beside production `expectedCurrent`. */
export async function startShadow(
  input: { model: string; version: number; expectedCurrent?: number | null },
  deps: ShadowDeps,
): Promise<ShadowStarted> {
  const { model, version, expectedCurrent } = input;
  if (expectedCurrent === null || expectedCurrent === undefined) {
    throw new PlatformError(errorNames.invalidInput, `Model "${model}" has no production version to shadow.`);
  }
  const candidate = await deps.registry.requireVersion(model, version);
  const state = await deps.registry.startShadow(model, expectedCurrent, version);
  return { ...state, bakeSeconds: candidate.definition.promotion.shadow.bakeSeconds, bakes: 0 };
}

/** Reports the running shadow's agreement with production over its window so far. */
export async function checkShadow(
  input: { model: string; version: number; bakes?: number },
  deps: ShadowDeps,
): Promise<ShadowReport> {
  const { model, version } = input;
  const candidate = await deps.registry.requireVersion(model, version);
  const alias = await deps.registry.getAlias(model);
  if (alias?.shadow?.version !== version) {
    throw new PlatformError(
      errorNames.aliasConflict,
      `Model "${model}" v${version} is not the running shadow.`,
    );
  }
  const window = await deps.readWindow(model, new Date(alias.shadow.startedAt), deps.clock.now());
  const rows = shadowRows(window, { production: alias.current, shadow: version });
  return judgeShadow(candidate.definition.promotion.shadow, {
    production: { version: alias.current, rows: rows.production },
    shadow: { version, rows: rows.shadow },
    bakesBefore: input.bakes ?? 0,
  });
}

/** Ends the shadow and records its report; a candidate whose shadow did not agree is rolled back. */
export async function endShadow(
  input: { model: string; version: number; report?: ShadowEndReport },
  deps: ShadowDeps,
): Promise<ShadowEnded> {
  const { model, version } = input;
  const report = input.report ?? {};
  await deps.registry.endShadow(model, version, { ...report });
  const passed = report.verdict === 'agree';
  if (!passed) {
    await deps.registry.transition(model, version, 'RolledBack', {
      reason: `shadow: ${report.summary ?? 'the shadow check failed'}`,
    });
  }
  return { model, version, passed };
}
