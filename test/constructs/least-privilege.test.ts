/**
 * Least privilege, read off a file: every IAM role of the synthesized templates, with each action it
 * is granted on each resource (and under which condition), is compared with
 * `iam-grants.expected.json`. A grant that appears fails, naming the role, the action and the
 * resource; so does one that disappears, so the file stays the truth. After a deliberate change,
 * `UPDATE_IAM_EXPECTED=1 npx vitest run --project constructs test/constructs/least-privilege.test.ts`
 * rewrites the file, and the diff is what a reviewer reads.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, type RegistryOperation } from '../../lib/constructs/model-registry.ts';
import { synthPlatform } from './fixture.ts';
import { grantLines, roleStatements, templatesOf } from './template-iam.ts';

const EXPECTED_FILE = join(import.meta.dirname, 'iam-grants.expected.json');
const UPDATE = process.env.UPDATE_IAM_EXPECTED === '1';
const HOW_TO_UPDATE =
  'If the change is intended, run `UPDATE_IAM_EXPECTED=1 npx vitest run --project constructs ' +
  'test/constructs/least-privilege.test.ts` and commit the reviewed diff of test/constructs/iam-grants.expected.json.';

type Grants = Record<string, string[]>;

/**
 * The file: every role's grants in the default (`lambda`) serving mode, and, for the `endpoint` mode,
 * only the roles whose grants differ from it (`null`: a role that mode does not have).
 */
interface ExpectedFile {
  readonly lambda: Grants;
  readonly endpointDelta: Record<string, string[] | null>;
}

function grantsOf(config: Record<string, unknown>): Grants {
  const synth = synthPlatform({ config });
  const templates = templatesOf(synth.assembly, synth.config.stage);
  return Object.fromEntries(grantLines(roleStatements(templates), templates));
}

function delta(base: Grants, other: Grants): Record<string, string[] | null> {
  const out: Record<string, string[] | null> = {};
  for (const role of [...new Set([...Object.keys(base), ...Object.keys(other)])].sort()) {
    if (!(role in other)) out[role] = null;
    else if (JSON.stringify(base[role]) !== JSON.stringify(other[role])) out[role] = other[role]!;
  }
  return out;
}

function applyDelta(base: Grants, changes: Record<string, string[] | null>): Grants {
  const out: Grants = { ...base };
  for (const [role, lines] of Object.entries(changes)) {
    if (lines === null) delete out[role];
    else out[role] = lines;
  }
  return out;
}

/** Every difference between the grants and the expected ones, as sentences naming role, action and resource. */
function grantDifferences(scenario: string, actual: Grants, expected: Grants): string[] {
  const problems: string[] = [];
  for (const role of [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort()) {
    const has = new Set(actual[role] ?? []);
    const wants = new Set(expected[role] ?? []);
    if (!(role in expected)) problems.push(`[${scenario}] new role ${role}, not in the expected list`);
    if (!(role in actual)) problems.push(`[${scenario}] role ${role} is expected but no longer exists`);
    for (const line of has) if (!wants.has(line)) problems.push(`[${scenario}] ${role} is granted: ${line}`);
    for (const line of wants) {
      if (!has.has(line)) problems.push(`[${scenario}] ${role} is no longer granted: ${line}`);
    }
  }
  return problems;
}

describe('least privilege: every role against iam-grants.expected.json', () => {
  let lambdaMode: Grants;
  let endpointMode: Grants;
  let expected: ExpectedFile;

  beforeAll(() => {
    lambdaMode = grantsOf({});
    endpointMode = grantsOf({ serving: { mode: 'endpoint', instanceType: 'ml.c5.large' } });
    if (UPDATE) {
      const file: ExpectedFile = { lambda: lambdaMode, endpointDelta: delta(lambdaMode, endpointMode) };
      writeFileSync(EXPECTED_FILE, `${JSON.stringify(file, null, 2)}\n`);
    }
    expected = JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as ExpectedFile;
  });

  it('GIVEN serving mode lambda WHEN synthesized THEN every role holds exactly the grants on the list', () => {
    const problems = grantDifferences('lambda', lambdaMode, expected.lambda);
    expect(problems, `${problems.join('\n')}\n${HOW_TO_UPDATE}`).toEqual([]);
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN every role holds exactly the grants on the list', () => {
    const wanted = applyDelta(expected.lambda, expected.endpointDelta);
    const problems = grantDifferences('endpoint', endpointMode, wanted);
    expect(problems, `${problems.join('\n')}\n${HOW_TO_UPDATE}`).toEqual([]);
  });

  it('GIVEN a grant widened by one action WHEN compared THEN the failure names the role, the action and the resource', () => {
    const role = Object.keys(lambdaMode).find((r) => r.includes('RegisterModelRole'))!;
    const widened = {
      ...lambdaMode,
      [role]: [...lambdaMode[role]!, 'Allow dynamodb:DeleteItem on Data/RegistryTable'],
    };
    expect(grantDifferences('lambda', widened, lambdaMode)).toEqual([
      `[lambda] ${role} is granted: Allow dynamodb:DeleteItem on Data/RegistryTable`,
    ]);
    const withNewRole = { ...lambdaMode, 'Pipeline/ExtraRole': ['Allow s3:GetObject on *'] };
    expect(grantDifferences('lambda', withNewRole, lambdaMode)).toEqual([
      '[lambda] new role Pipeline/ExtraRole, not in the expected list',
      '[lambda] Pipeline/ExtraRole is granted: Allow s3:GetObject on *',
    ]);
  });

  describe('the grants the code needs and no more', () => {
    const roleOf = (grants: Grants, name: string): string[] => {
      const roles = Object.keys(grants).filter((r) => r.endsWith(`${name}Role`));
      expect(roles, name).toHaveLength(1);
      return grants[roles[0]!]!;
    };
    const on = (lines: string[], resource: RegExp) =>
      lines.filter((l) => resource.test(l.split(' on ')[1]!)).map((l) => l.split(' ')[1]);

    it('GIVEN register-model THEN it touches no lake object and only puts and updates registry items', () => {
      const lines = roleOf(lambdaMode, 'TrainingRegisterModel');
      expect(lines.filter((l) => / s3:/.test(l))).toEqual([]);
      expect(on(lines, /RegistryTable/).sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    });

    it('GIVEN prepare and evaluate THEN they delete nothing and write only the zones they write', () => {
      const writes = (name: string) =>
        roleOf(lambdaMode, name)
          .filter((l) => / s3:PutObject on /.test(l))
          .map((l) => l.split('LakeBucket')[1]);
      for (const name of ['TrainingPrepareFeatures', 'TrainingEvaluateModel']) {
        expect(
          roleOf(lambdaMode, name).filter((l) => /Delete/.test(l)),
          name,
        ).toEqual([]);
      }
      expect(writes('TrainingPrepareFeatures').sort()).toEqual([
        '/baselines/*',
        '/curated/*',
        '/quarantine/*',
      ]);
      expect(writes('TrainingEvaluateModel').sort()).toEqual(['/artifacts/*', '/baselines/*']);
    });

    it('GIVEN the readers of the registry (deploy-model, compare-models, predict, shadow, drift job, sync) THEN they may only read it', () => {
      for (const name of [
        'PromotionDeployModel',
        'PromotionCompareModels',
        'PredictionPredict',
        'PredictionShadow',
        'DriftDriftJob',
        'PromotionSyncEndpoint',
      ]) {
        const ops = on(roleOf(lambdaMode, name), /RegistryTable/);
        expect(ops.length, name).toBeGreaterThan(0);
        expect(
          ops.filter((op) => !['dynamodb:GetItem', 'dynamodb:Query'].includes(op!)),
          name,
        ).toEqual([]);
      }
    });

    it('GIVEN every role THEN none may delete, batch-write or scan registry items, and only the lease function deletes, lease items only', () => {
      for (const [role, lines] of Object.entries(endpointMode)) {
        const ops = lines.filter((l) => / on Data\/RegistryTable/.test(l));
        expect(
          ops.filter((l) => /dynamodb:(BatchWriteItem|Scan|\*)/.test(l)),
          role,
        ).toEqual([]);
        const deletes = ops.filter((l) => /dynamodb:DeleteItem/.test(l));
        if (role.endsWith('TrainingLeaseRole')) {
          expect(deletes).toEqual([
            'Allow dynamodb:DeleteItem on Data/RegistryTable if ForAllValues:StringLike dynamodb:LeadingKeys=LEASE#*',
          ]);
        } else {
          expect(deletes, role).toEqual([]);
        }
      }
    });

    it('GIVEN the prediction log THEN its writers only batch-write it and its readers only query it; nothing deletes rows', () => {
      for (const [role, lines] of Object.entries(endpointMode)) {
        const ops = on(lines, /PredictionLogTable/);
        expect(
          ops.filter((op) => !['dynamodb:BatchWriteItem', 'dynamodb:Query'].includes(op!)),
          role,
        ).toEqual([]);
      }
      expect(on(roleOf(lambdaMode, 'PredictionPredict'), /PredictionLogTable/)).toEqual([
        'dynamodb:BatchWriteItem',
      ]);
      expect(on(roleOf(lambdaMode, 'DriftDriftJob'), /PredictionLogTable/)).toEqual(['dynamodb:Query']);
    });

    it('GIVEN every role THEN none may delete lake objects', () => {
      for (const [role, lines] of Object.entries(endpointMode)) {
        expect(
          lines.filter((l) => /s3:DeleteObject/.test(l)),
          role,
        ).toEqual([]);
      }
    });
  });

  it('fails when a registry grant names no operation or one that is not a registry operation, naming the allowed ones', () => {
    const stack = new Stack(new App(), 'Grants');
    const registry = new ModelRegistry(stack, 'Registry', { encryptionKey: new kms.Key(stack, 'Key') });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => registry.grant(role)).toThrow(
      'ModelRegistry grant: name the operations the function performs (GetItem, Query, PutItem, UpdateItem)',
    );
    expect(() => registry.grant(role, 'DeleteItem' as RegistryOperation)).toThrow(
      'ModelRegistry grant: "DeleteItem" is not a registry operation (allowed: GetItem, Query, PutItem, UpdateItem)',
    );
  });
});
