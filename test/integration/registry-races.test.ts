/**
 * Racing operators on one model's registry, on dynalite through the real DynamoModelRegistry and the
 * cores the set-alias and rollback functions run: 100 promotions and rollbacks started at once.
 * A watcher reads the registry the whole time. At every observation exactly one version is in
 * Production and it is the one the alias points at, no version is both in production and in the
 * alias history; afterwards the audit trail has one numbered entry per move that won, chained and
 * in order, and every attempt that lost was refused with a named error.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../core/errors.ts';
import { systemClock } from '../../core/ports.ts';
import { ACTION_AUDIT, type AuditEvent, type ModelVersion } from '../../core/registry/model.ts';
import { rollback } from '../../lambdas/rollback/core.ts';
import { setAlias } from '../../lambdas/set-alias/core.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { registryPk, versionSk } from '../../lambdas/shared/adapters/aws/dynamo-registry-reader.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { versionRecord } from '../support/registry-records.ts';

const MODEL = 'raced';
/** Approved versions waiting to be promoted (2 … APPROVED + 1); version 1 is in production. */
const APPROVED = 50;
const ROLLBACKS = 50;

type Outcome =
  | { kind: 'promote' | 'rollback'; ok: true }
  | { kind: 'promote' | 'rollback'; ok: false; error: string };

/** What the watcher saw in one read of the registry. */
interface Observation {
  production: number[];
  listed: number[];
  current: number | undefined;
  history: number[];
}

describe('racing promotions and rollbacks on one model', () => {
  let aws: LocalAws;
  let registry: DynamoModelRegistry;
  const deps = () => ({ registry, clock: systemClock });

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('registry');
    registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
    for (let n = 1; n <= APPROVED + 1; n++) {
      await registry.putVersion(versionRecord(MODEL, await registry.allocateVersion(MODEL)));
      await registry.transition(MODEL, n, 'Approved');
    }
    await setAlias({ model: MODEL, version: 1 }, deps());
  }, 60_000);
  afterAll(async () => aws.stop());

  it('GIVEN 50 Approved versions and one in production WHEN 50 promotions and 50 rollbacks race in bursts THEN every observation shows exactly one Production version, the one the alias points at, and the audit has one ordered, chained entry per move that won', async () => {
    // WHEN: every attempt starts at once, promotions and rollbacks interleaved.
    const attempts: { kind: 'promote' | 'rollback'; run: () => Promise<unknown> }[] = [];
    // Ten bursts of ten: the even ones promotions, the odd ones rollbacks.
    for (let i = 0, p = 2; attempts.length < APPROVED + ROLLBACKS; i++) {
      const burst = Math.floor(i / 10);
      if (burst % 2 === 0) {
        const version = p++;
        attempts.push({ kind: 'promote', run: () => setAlias({ model: MODEL, version }, deps()) });
      } else {
        attempts.push({
          kind: 'rollback',
          run: () => rollback({ model: MODEL, reason: `race ${i}` }, deps()),
        });
      }
    }
    let racing = true;
    const observations: Observation[] = [];
    const watcher = (async () => {
      while (racing) {
        const [versions, alias] = await Promise.all([registry.listVersions(MODEL), registry.getAlias(MODEL)]);
        observations.push({
          production: versions.filter((v) => v.status === 'Production').map((v) => v.version),
          listed: versions.map((v) => v.version),
          current: alias?.current,
          history: alias?.history ?? [],
        });
        // One read of the alias item alone: its own statuses name exactly one Production version, its current.
        const held = Object.entries(alias?.statuses ?? {}).filter(([, s]) => s === 'Production');
        expect(
          held.map(([v]) => Number(v)),
          'the alias item itself',
        ).toEqual([alias?.current]);
      }
    })();
    // The bursts start 600 ms apart, each attempt a few ms off its burst's start (a fixed
    // pseudo-random order): the attempts of a burst race each other and the slow ones of the last.
    let seed = 11;
    const jitter = () => {
      seed = (seed * 16807) % 2147483647;
      return seed % 40;
    };
    const settled = await Promise.allSettled(
      attempts.map(async (a, i) => {
        await new Promise((r) => setTimeout(r, Math.floor(i / 10) * 600 + jitter()));
        return a.run();
      }),
    );
    racing = false;
    await watcher;

    const outcomes: Outcome[] = settled.map((r, i) => {
      const { kind } = attempts[i]!;
      if (r.status === 'fulfilled') return { kind, ok: true };
      expect(r.reason, String(r.reason)).toBeInstanceOf(PlatformError);
      return { kind, ok: false, error: (r.reason as PlatformError).name };
    });
    const won = (kind: string) => outcomes.filter((o) => o.kind === kind && o.ok).length;
    const refusals = new Map<string, number>();
    for (const o of outcomes)
      if (!o.ok) refusals.set(`${o.kind} ${o.error}`, (refusals.get(`${o.kind} ${o.error}`) ?? 0) + 1);
    const summary = {
      attempts: outcomes.length,
      promotions: won('promote'),
      rollbacks: won('rollback'),
      refused: Object.fromEntries(refusals),
      observations: observations.length,
    };
    console.log(`registry races: ${JSON.stringify(summary)}`);

    // THEN every observation: exactly one Production version, not also in the history, and every version listed once.
    expect(observations.length, 'the watcher read the registry while the attempts ran').toBeGreaterThan(10);
    for (const [i, o] of observations.entries()) {
      expect(o.production, `observation ${i}: ${JSON.stringify(o)}`).toHaveLength(1);
      expect(
        o.history,
        `observation ${i}: the alias's current version is not also in its history`,
      ).not.toContain(o.current);
      expect(new Set(o.listed).size, `observation ${i}: each version listed once`).toBe(o.listed.length);
    }
    expect(summary.promotions, 'some promotions won').toBeGreaterThan(1);
    expect(summary.rollbacks, 'some rollbacks won').toBeGreaterThan(0);
    for (const reason of refusals.keys()) {
      expect(reason, 'a refusal is a lost race, named').toMatch(
        /^(promote (AliasConflict|InvalidStatusTransition)|rollback (AliasConflict|InvalidStatusTransition|NoPreviousVersion|InvalidInput))$/,
      );
    }

    // The audit: one AliasMoved per move that won (and the first promotion), numbered 1, 2, … with no
    // gap, each starting where the one before ended, in time order, ending on production.
    const audit = await registry.listAudit(MODEL);
    const moves = audit
      .filter((a) => a.action === 'AliasMoved')
      .sort((a, b) => (a.detail.move as number) - (b.detail.move as number));
    expect(moves.map((m) => m.detail.move)).toEqual(
      Array.from({ length: 1 + summary.promotions + summary.rollbacks }, (_, i) => i + 1),
    );
    expect(moves.filter((m) => m.detail.restored === true)).toHaveLength(summary.rollbacks);
    for (let i = 1; i < moves.length; i++) {
      expect(moves[i]!.detail.from, `move ${i + 1} starts where move ${i} ended`).toBe(
        moves[i - 1]!.detail.to,
      );
      expect(moves[i]!.at >= moves[i - 1]!.at, `move ${i + 1} is not dated before move ${i}`).toBe(true);
    }
    const alias = (await registry.getAlias(MODEL))!;
    expect(moves.at(-1)!.detail.to).toBe(alias.current);
    expect(alias.moves).toBe(moves.length);
    // Each move audited the statuses it set, under its number: two per move after the first.
    const changed = audit.filter(
      (a: AuditEvent) => a.action === 'StatusChanged' && a.detail.move !== undefined,
    );
    expect(changed).toHaveLength(1 + 2 * (moves.length - 1));
    const done = audit.filter(
      (a) => a.action === ACTION_AUDIT && (a.detail as { outcome?: string }).outcome === 'done',
    );
    expect(done, 'one rollback action audited as done per rollback that won').toHaveLength(summary.rollbacks);

    // After: the statuses add up. One Production (the alias's), the history Retired, each rollback's
    // replaced version RolledBack, the versions no promotion reached still Approved.
    const versions = await registry.listVersions(MODEL);
    const by = (s: ModelVersion['status']) => versions.filter((v) => v.status === s).map((v) => v.version);
    expect(by('Production')).toEqual([alias.current]);
    expect(by('Retired').sort((a, b) => a - b)).toEqual([...new Set(alias.history)].sort((a, b) => a - b));
    expect(by('RolledBack')).toHaveLength(summary.rollbacks);
    expect(by('Approved')).toHaveLength(APPROVED + 1 - 1 - summary.promotions);
    // The version items' own copies caught up with the alias's statuses.
    const raw = await Promise.all(
      versions.map(async (v) => (await aws.db.send(getItem(v.version)))?.Item?.status as string),
    );
    expect(raw).toEqual(versions.map((v) => v.status));
  }, 120_000);
});

/** A read of a version's own item, without the alias's statuses over it. */
function getItem(version: number): GetCommand {
  return new GetCommand({
    TableName: 'registry',
    Key: { pk: registryPk(MODEL), sk: versionSk(version) },
    ConsistentRead: true,
  });
}
