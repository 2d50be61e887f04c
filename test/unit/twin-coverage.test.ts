/** How the twin's coverage of the templates reads when `mlops local up` prints it. */
import { describe, expect, it } from 'vitest';
import {
  type CoverageEntry,
  coverageLines,
  EMULATED,
  NOT_EMULATED,
  type TwinCoverage,
} from '../../local/coverage.ts';

const entry = (
  e: Partial<CoverageEntry> & Pick<CoverageEntry, 'logicalId' | 'type' | 'status'>,
): CoverageEntry => ({
  stack: 'Mlops-dev-Data',
  ...e,
});

function coverage(resources: CoverageEntry[]): TwinCoverage {
  const counts = { emulated: 0, missing: 0, 'not-emulated': 0, unclassified: 0 };
  for (const r of resources) counts[r.status]++;
  return { counts, resources };
}

describe('coverage lines', () => {
  it('GIVEN emulated and left-out resources WHEN printed THEN a summary, one line per emulated type, and each left-out type with its reason and logical ids', () => {
    const lines = coverageLines(
      coverage([
        entry({
          logicalId: 'Registry',
          type: 'AWS::DynamoDB::Table',
          status: 'emulated',
          counterpart: 'a dynalite table',
        }),
        entry({
          logicalId: 'Log',
          type: 'AWS::DynamoDB::Table',
          status: 'emulated',
          counterpart: 'a dynalite table',
        }),
        entry({
          logicalId: 'RoleA',
          type: 'AWS::IAM::Role',
          status: 'not-emulated',
          reason: 'IAM is not enforced',
        }),
        entry({
          logicalId: 'RoleB',
          type: 'AWS::IAM::Role',
          status: 'not-emulated',
          reason: 'IAM is not enforced',
        }),
      ]),
    );
    expect(lines).toEqual([
      '2 of 4 template resources emulated, 2 not emulated',
      'emulated: AWS::DynamoDB::Table ×2 (a dynalite table): Registry, Log',
      'not emulated: AWS::IAM::Role ×2 (IAM is not enforced): RoleA, RoleB',
    ]);
  });

  it('GIVEN a missing counterpart and an unclassified type WHEN printed THEN the summary counts them and each is named by stack and logical id', () => {
    const lines = coverageLines(
      coverage([
        entry({
          logicalId: 'Lake',
          type: 'AWS::S3::Bucket',
          status: 'missing',
          reason: 's3rver has no such bucket',
        }),
        entry({
          logicalId: 'Cache',
          type: 'AWS::ElastiCache::CacheCluster',
          status: 'unclassified',
          reason: 'unknown',
        }),
      ]),
    );
    expect(lines[0]).toBe(
      '0 of 2 template resources emulated, 0 not emulated, 1 MISSING, 1 of unclassified types',
    );
    expect(lines).toContain('MISSING: AWS::S3::Bucket Mlops-dev-Data/Lake: s3rver has no such bucket');
    expect(lines).toContain('unclassified: AWS::ElastiCache::CacheCluster Mlops-dev-Data/Cache: unknown');
  });

  it('GIVEN the classification WHEN read THEN no type is both emulated and left out, and every reason is said', () => {
    expect(Object.keys(EMULATED).filter((t) => t in NOT_EMULATED)).toEqual([]);
    for (const [type, c] of Object.entries(EMULATED)) expect(c.counterpart, type).not.toBe('');
    for (const [type, reason] of Object.entries(NOT_EMULATED))
      expect(
        typeof reason === 'string' ? reason : reason({ Protocol: 'email', Endpoint: 'a@b.c' }),
        type,
      ).not.toBe('');
  });
});
