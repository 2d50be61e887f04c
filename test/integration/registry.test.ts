import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/ports.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { versionRecord as version } from '../support/registry-records.ts';

describe('DynamoModelRegistry on dynalite', () => {
  let aws: LocalAws;
  let registry: DynamoModelRegistry;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('registry');
    registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
  });
  afterAll(async () => aws.stop());

  it('allocates increasing version numbers per model', async () => {
    expect(await registry.allocateVersion('a')).toBe(1);
    expect(await registry.allocateVersion('a')).toBe(2);
    expect(await registry.allocateVersion('b')).toBe(1);
  });

  it('writes a version once and refuses to overwrite it', async () => {
    await registry.putVersion(version('w', 1));
    await expect(registry.putVersion({ ...version('w', 1), seed: 2 })).rejects.toMatchObject({
      name: 'InvalidStatusTransition',
    });
    expect((await registry.getVersion('w', 1))?.seed).toBe(1);
  });

  it('allows only the defined status transitions', async () => {
    await registry.putVersion(version('t', 1));
    await expect(registry.transition('t', 1, 'Production')).rejects.toThrow(
      'it cannot become Production (allowed: Approved, Rejected, Failed)',
    );
    await registry.transition('t', 1, 'Approved');
    await registry.transition('t', 1, 'Production');
    expect((await registry.getVersion('t', 1))?.status).toBe('Production');
    const audit = await registry.listAudit('t');
    expect(audit.map((a) => a.action)).toEqual(['VersionRegistered', 'StatusChanged', 'StatusChanged']);
  });

  it('lets exactly one of two racing alias moves win', async () => {
    await registry.moveAlias('race', undefined, { current: 1, history: [] });
    const results = await Promise.allSettled([
      registry.moveAlias('race', 1, { current: 2, history: [1] }),
      registry.moveAlias('race', 1, { current: 3, history: [1] }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ name: 'AliasConflict' });
    expect([2, 3]).toContain((await registry.getAlias('race'))?.current);
  });
});
