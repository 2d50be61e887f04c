import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { buildApp } from '../../lib/app.ts';
import { buildConfig, loadModels, platformConfigSchema, readCdkJsonContext } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type Resource = { Properties: Record<string, unknown> };

const PARTITION = 'aws';
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';

/** A template value as IAM will see it, with the pseudo parameters of one account and region. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref === 'AWS::Partition') return PARTITION;
  if (v.Ref === 'AWS::Region') return REGION;
  if (v.Ref === 'AWS::AccountId') return ACCOUNT;
  if (Array.isArray(v['Fn::Join'])) {
    const [delimiter, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(delimiter);
  }
  throw new Error(`cannot render ${JSON.stringify(value)} to a literal`);
}

/** IAM's pattern match: `*` stands for any run of characters, `?` for one, the rest is literal. */
function iamMatches(pattern: string, value: string): boolean {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

const jobArn = (name: string) => `arn:${PARTITION}:sagemaker:${REGION}:${ACCOUNT}:training-job/${name}`;

/** The resource patterns on which the training state machine's role may create a training job. */
function createTrainingJobResources(pipeline: Template): string[] {
  const machines = Object.values(
    pipeline.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { DefinitionSubstitutions: { TrainingInstanceType: Match.anyValue() } },
    }),
  ) as Resource[];
  expect(machines).toHaveLength(1);
  const role = (machines[0]!.Properties.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const statements = (Object.values(pipeline.findResources('AWS::IAM::Policy')) as Resource[])
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${role}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return statements
    .filter((s) => s.Effect === 'Allow')
    .filter((s) => [s.Action].flat().some((a) => iamMatches(a, 'sagemaker:CreateTrainingJob')))
    .flatMap((s) => [s.Resource].flat().map(render));
}

const grants = (resources: string[], name: string) => resources.some((r) => iamMatches(r, jobArn(name)));

describe('the training jobs a stage may run', () => {
  const resources: Record<string, string[]> = {};
  beforeAll(() => {
    const app = new App({
      context: { ...readCdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
      outdir: mkdtempSync(join(tmpdir(), 'mlops-job-grants-')),
    });
    const pipelines = ['dev', 'dev-b'].map(
      (stage) => [stage, buildApp(app, buildConfig({ stage }, loadModels(MODELS_DIR))).pipeline] as const,
    );
    for (const [stage, pipeline] of pipelines) {
      resources[stage] = createTrainingJobResources(Template.fromStack(pipeline));
    }
  });

  it('GIVEN stages dev and dev-b WHEN synthesized THEN each may create the jobs of any of its models, a model not in models/ included', () => {
    expect(resources.dev).toEqual([jobArn('mlops-dev--*')]);
    for (const stage of ['dev', 'dev-b']) {
      const prefix = trainingJobPrefix(stage);
      expect(grants(resources[stage]!, `${prefix}credit-20260101t000000-ab12`), stage).toBe(true);
      expect(grants(resources[stage]!, `${prefix}fraud-20260101t000000-ab12`), stage).toBe(true);
    }
  });

  it("GIVEN stages dev and dev-b WHEN synthesized THEN neither may create the other's jobs", () => {
    expect(grants(resources.dev!, `${trainingJobPrefix('dev-b')}credit-20260101t000000-ab12`)).toBe(false);
    expect(grants(resources['dev-b']!, `${trainingJobPrefix('dev')}credit-20260101t000000-ab12`)).toBe(false);
    // Names that are not a stage's jobs at all, e.g. from before the prefix existed.
    expect(grants(resources.dev!, 'credit-20260101t000000-ab12')).toBe(false);
    expect(grants(resources.dev!, 'mlops-dev-credit')).toBe(false);
  });

  it('GIVEN any two different valid stages THEN neither prefix starts with the other', () => {
    const valid = (s: string) => platformConfigSchema.shape.stage.safeParse(s).success;
    const stage = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter(valid);
    fc.assert(
      fc.property(stage, stage, (a, b) => {
        fc.pre(a !== b);
        expect(trainingJobPrefix(a).startsWith(trainingJobPrefix(b))).toBe(false);
      }),
      { numRuns: 2000 },
    );
    // The stages the rule refuses: each one's prefix starts with the prefix of stage dev.
    expect(trainingJobPrefix('dev-').startsWith(trainingJobPrefix('dev'))).toBe(true);
    expect(trainingJobPrefix('dev--b').startsWith(trainingJobPrefix('dev'))).toBe(true);
  });

  it('fails when the stage contains "--" or ends in "-", naming the key and the rule', () => {
    const models = loadModels(MODELS_DIR);
    expect(() => buildConfig({ stage: 'dev--b' }, models)).toThrow(/- stage: "dev--b" must not contain "--"/);
    expect(() => buildConfig({ stage: 'dev-' }, models)).toThrow(/- stage: "dev-" must not end in "-"/);
    expect(() => buildConfig({ stage: 'dev-b' }, models)).not.toThrow();
  });
});
