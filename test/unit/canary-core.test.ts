import { beforeEach, describe, expect, it } from 'vitest';
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { CanarySettings, ShadowSettings } from '../../core/model/policies.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import type {
  CanaryState,
  ModelVersion,
  ProductionAlias,
  ShadowState,
  VersionStatus,
} from '../../core/registry/model.ts';
import {
  type CanaryAction,
  type CanaryDeps,
  type CanaryInput,
  runCanary,
} from '../../lambdas/canary/core.ts';
import { credit } from '../support/fixtures.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const STARTED = '2026-03-01T11:50:00.000Z';

type CanaryRegistry = CanaryDeps['registry'];

/** The registry in memory, with the conditional alias changes the canary and shadow rely on. */
class MemoryRegistry implements CanaryRegistry {
  alias: ProductionAlias | undefined = { model: 'credit', current: 1, history: [], updatedAt: STARTED };
  readonly versions = new Map<number, ModelVersion>();
  readonly reasons = new Map<number, string | undefined>();
  readonly shadowReports: Record<string, unknown>[] = [];
  readonly endedCanaries: string[] = [];

  add(version: number, promotion: { canary?: Partial<CanarySettings>; shadow?: Partial<ShadowSettings> }) {
    const definition = {
      ...credit,
      promotion: {
        ...credit.promotion,
        canary: { ...credit.promotion.canary, ...promotion.canary },
        shadow: { ...credit.promotion.shadow, ...promotion.shadow },
      },
    };
    this.versions.set(version, { model: 'credit', version, status: 'Approved', definition } as ModelVersion);
  }

  private conflict(what: string): never {
    throw new PlatformError(errorNames.aliasConflict, what);
  }

  async requireVersion(model: string, version: number): Promise<ModelVersion> {
    const found = this.versions.get(version);
    if (!found) throw new PlatformError(errorNames.versionNotFound, `${model} v${version} not found`);
    return found;
  }

  async getAlias(): Promise<ProductionAlias | undefined> {
    return structuredClone(this.alias);
  }

  async startCanary(
    _model: string,
    expectedCurrent: number,
    canary: Omit<CanaryState, 'startedAt'>,
  ): Promise<CanaryState> {
    const alias = this.alias;
    if (alias?.current !== expectedCurrent || alias.canary || alias.shadow) this.conflict('canary refused');
    alias.canary = { ...canary, startedAt: STARTED };
    return { ...alias.canary };
  }

  async setCanaryWeight(_model: string, version: number, weight: number): Promise<CanaryState> {
    const canary = this.alias?.canary;
    if (canary?.version !== version) this.conflict('no such canary');
    canary.weight = weight;
    return { ...canary };
  }

  async endCanary(_model: string, version: number, reason: string): Promise<void> {
    if (this.alias?.canary?.version === version) delete this.alias.canary;
    this.endedCanaries.push(reason);
  }

  async startShadow(_model: string, expectedCurrent: number, version: number): Promise<ShadowState> {
    const alias = this.alias;
    if (alias?.current !== expectedCurrent || alias.canary || alias.shadow) this.conflict('shadow refused');
    alias.shadow = { version, startedAt: STARTED };
    return { ...alias.shadow };
  }

  async endShadow(_model: string, version: number, report: Record<string, unknown>): Promise<void> {
    if (this.alias?.shadow?.version === version) delete this.alias.shadow;
    this.shadowReports.push(report);
  }

  async transition(
    _model: string,
    version: number,
    to: VersionStatus,
    extra?: { reason?: string },
  ): Promise<ModelVersion> {
    const v = await this.requireVersion('credit', version);
    v.status = to;
    this.reasons.set(version, extra?.reason);
    return v;
  }
}

function row(partial: Partial<PredictionRecord>): PredictionRecord {
  const version = partial.modelVersion ?? 1;
  return {
    model: 'credit',
    requestId: 'r',
    index: 0,
    at: NOW.toISOString(),
    modelVersion: version,
    variant: `v${version}`,
    route: 'production',
    featureSchemaHash: 'h',
    features: {},
    score: 0.5,
    label: 'bad',
    latencyMs: 20,
    ...partial,
  };
}

/** `n` single-instance requests of one version, their scores spread evenly over the score bins. */
function served(n: number, partial: Partial<PredictionRecord>): PredictionRecord[] {
  return Array.from({ length: n }, (_, i) =>
    row({
      requestId: `${partial.modelVersion}-${partial.route}-${i}`,
      score: (i % 10) / 10 + 0.05,
      ...partial,
    }),
  );
}

let registry: MemoryRegistry;
let window: PredictionRecord[];
let reads: { model: string; from: Date; to: Date }[];
let deps: CanaryDeps;

beforeEach(() => {
  registry = new MemoryRegistry();
  window = [];
  reads = [];
  deps = {
    registry,
    readWindow: async (model, from, to) => {
      reads.push({ model, from, to });
      return window;
    },
    clock: { now: () => NOW },
  };
});

/** An input whose action stays a literal type, so that each action's result is typed. */
const input = <A extends CanaryAction>(
  partial: Partial<CanaryInput> & { action: A },
): CanaryInput & { action: A } => ({ model: 'credit', version: 2, ...partial });

describe('canary actions', () => {
  it('starts the canary at the settings’ weight and hands the pipeline its bake', async () => {
    registry.add(2, { canary: { weight: 0.2, bakeSeconds: 30 } });
    const started = await runCanary(input({ action: 'start', expectedCurrent: 1 }), deps);
    expect(started).toEqual({ version: 2, weight: 0.2, startedAt: STARTED, bakeSeconds: 30, bakes: 0 });
    expect(registry.alias?.canary).toEqual({ version: 2, weight: 0.2, startedAt: STARTED });
  });

  it('refuses to start a canary with no production version to run beside', async () => {
    registry.add(2, {});
    await expect(runCanary(input({ action: 'start', expectedCurrent: null }), deps)).rejects.toMatchObject({
      name: errorNames.invalidInput,
      message: 'Model "credit" has no production version for a canary to run beside.',
    });
    expect(registry.alias?.canary).toBeUndefined();
  });

  it('judges the window since the canary started, leaving shadow copies and other versions out', async () => {
    registry.add(2, { canary: { minSamples: 20 } });
    await runCanary(input({ action: 'start', expectedCurrent: 1 }), deps);
    window = [
      ...served(30, { modelVersion: 2, route: 'canary' }),
      ...served(40, { modelVersion: 1 }),
      // Counted, these would drift the canary's scores and fail its error rate.
      ...served(30, { modelVersion: 2, route: 'shadow', score: 0.99 }),
      ...served(30, { modelVersion: 2, route: 'shadow', score: null, label: null, error: 'failed' }),
      ...served(30, { modelVersion: 3, score: 0.01 }),
    ];
    const check = await runCanary(input({ action: 'check', bakes: 1 }), deps);
    expect(reads).toEqual([{ model: 'credit', from: new Date(STARTED), to: NOW }]);
    expect(check).toMatchObject({
      verdict: 'healthy',
      healthy: true,
      bakes: 2,
      canarySamples: 30,
      incumbentSamples: 40,
      errorRate: 0,
    });
  });

  it('steps at the running canary’s weight, and the pipeline can step it to the next share', async () => {
    registry.add(2, { canary: { weight: 0.1, steps: 2, minSamples: 20, bakeSeconds: 30 } });
    await runCanary(input({ action: 'start', expectedCurrent: 1 }), deps);
    window = [...served(20, { modelVersion: 2, route: 'canary' }), ...served(20, { modelVersion: 1 })];
    const first = await runCanary(input({ action: 'check', bakes: 0 }), deps);
    expect(first).toMatchObject({ verdict: 'step', nextWeight: 0.55 });
    const stepped = await runCanary(input({ action: 'step', weight: first.nextWeight }), deps);
    expect(stepped).toEqual({ version: 2, weight: 0.55, startedAt: STARTED, bakeSeconds: 30, bakes: 0 });
    const second = await runCanary(input({ action: 'check', bakes: stepped.bakes }), deps);
    expect(second.verdict).toBe('healthy');
    expect(second.bakes).toBe(1);
  });

  it('refuses a step to a weight outside (0, 1), naming it', async () => {
    registry.add(2, {});
    await runCanary(input({ action: 'start', expectedCurrent: 1 }), deps);
    for (const weight of [0, 1, undefined]) {
      await expect(runCanary(input({ action: 'step', weight }), deps)).rejects.toMatchObject({
        name: errorNames.invalidInput,
        message: `A canary step needs a weight in (0, 1), got ${weight}.`,
      });
    }
    expect(registry.alias?.canary?.weight).toBe(0.1);
  });

  it('refuses to check a version that is not the running canary', async () => {
    registry.add(2, {});
    await expect(runCanary(input({ action: 'check' }), deps)).rejects.toMatchObject({
      name: errorNames.aliasConflict,
      message: 'Model "credit" v2 is not the running canary.',
    });
    expect(reads).toEqual([]);
  });

  it('aborts: the canary ends and the candidate is RolledBack with the reason', async () => {
    registry.add(2, {});
    registry.add(3, {});
    await runCanary(input({ action: 'start', expectedCurrent: 1 }), deps);
    const aborted = await runCanary(input({ action: 'abort', reason: 'p95 too slow' }), deps);
    expect(aborted).toEqual({ model: 'credit', version: 2, rolledBack: true });
    expect(registry.alias?.canary).toBeUndefined();
    expect(registry.versions.get(2)?.status).toBe('RolledBack');
    expect(registry.reasons.get(2)).toBe('canary: p95 too slow');
    await runCanary(input({ action: 'abort', version: 3 }), deps);
    expect(registry.endedCanaries).toEqual(['p95 too slow', 'canary unhealthy']);
    expect(registry.reasons.get(3)).toBe('canary: canary unhealthy');
  });

  it('refuses an action it does not know, naming it and the ones it does', async () => {
    const unknown = { ...input({ action: 'check' }), action: 'promote' } as unknown as CanaryInput;
    await expect(runCanary(unknown, deps)).rejects.toMatchObject({
      name: errorNames.invalidInput,
      message:
        'Unknown canary action "promote": expected one of start, step, check, abort, shadow-start, shadow-check, shadow-end.',
    });
  });
});

describe('shadow actions', () => {
  it('starts the shadow beside production and hands the pipeline its bake', async () => {
    registry.add(2, { shadow: { bakeSeconds: 45 } });
    const started = await runCanary(input({ action: 'shadow-start', expectedCurrent: 1 }), deps);
    expect(started).toEqual({ version: 2, startedAt: STARTED, bakeSeconds: 45, bakes: 0 });
    await expect(
      runCanary(input({ action: 'shadow-start', expectedCurrent: undefined }), deps),
    ).rejects.toMatchObject({
      name: errorNames.invalidInput,
      message: 'Model "credit" has no production version to shadow.',
    });
  });

  it('reports the agreement with production over the window since the shadow started', async () => {
    registry.add(2, { shadow: { minSamples: 3, minAgreement: 0.5 } });
    await runCanary(input({ action: 'shadow-start', expectedCurrent: 1 }), deps);
    const ids = { requestId: 'q' };
    window = [
      row({ ...ids, index: 0, score: 0.9 }),
      row({ ...ids, index: 1, score: 0.8 }),
      row({ ...ids, index: 2, score: 0.7 }),
      row({ ...ids, index: 0, modelVersion: 2, route: 'shadow', score: 0.9 }),
      row({ ...ids, index: 1, modelVersion: 2, route: 'shadow', score: 0.8 }),
      row({ ...ids, index: 2, modelVersion: 2, route: 'shadow', score: 0.7 }),
      row({ ...ids, index: 3, modelVersion: 2, route: 'shadow', score: null, label: null, error: 'failed' }),
      // The canary route of the shadow's version is not a shadow copy.
      row({ ...ids, index: 0, modelVersion: 2, route: 'canary', score: 0.1, label: 'good' }),
    ];
    const report = await runCanary(input({ action: 'shadow-check', bakes: 0 }), deps);
    expect(reads).toEqual([{ model: 'credit', from: new Date(STARTED), to: NOW }]);
    expect(report).toMatchObject({ verdict: 'agree', bakes: 1, pairs: 3, shadowErrors: 1, agreement: 1 });
    expect(report.summary).toMatch(/^shadow v2 vs production v1: labels agree on 100\.0% of 3 predictions/);
  });

  it('refuses to check a version that is not the running shadow', async () => {
    registry.add(2, {});
    await expect(runCanary(input({ action: 'shadow-check' }), deps)).rejects.toMatchObject({
      name: errorNames.aliasConflict,
      message: 'Model "credit" v2 is not the running shadow.',
    });
  });

  it('ends the shadow with its report; only an agreeing one lets the candidate go on', async () => {
    registry.add(2, {});
    registry.add(3, {});
    registry.add(4, {});
    await runCanary(input({ action: 'shadow-start', expectedCurrent: 1 }), deps);
    const agreed = { verdict: 'agree', summary: 'fine', pairs: 60 };
    expect(await runCanary(input({ action: 'shadow-end', report: agreed }), deps)).toEqual({
      model: 'credit',
      version: 2,
      passed: true,
    });
    expect(registry.alias?.shadow).toBeUndefined();
    expect(registry.versions.get(2)?.status).toBe('Approved');

    const disagreed = { verdict: 'disagree', summary: 'labels agree on 40.0%' };
    const ended = await runCanary(input({ action: 'shadow-end', version: 3, report: disagreed }), deps);
    expect(ended.passed).toBe(false);
    expect(registry.versions.get(3)?.status).toBe('RolledBack');
    expect(registry.reasons.get(3)).toBe('shadow: labels agree on 40.0%');

    await runCanary(input({ action: 'shadow-end', version: 4 }), deps);
    expect(registry.reasons.get(4)).toBe('shadow: the shadow check failed');
    expect(registry.shadowReports).toEqual([agreed, disagreed, {}]);
  });
});
