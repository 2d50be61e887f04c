import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackName, stackOutputs, stackParts } from '../../contracts/outputs.ts';
import { buildApp } from '../../lib/app.ts';
import { buildConfig, loadModels, readCdkJsonContext } from '../../lib/config.ts';
import { MODELS_DIR, PROJECT_ROOT } from '../../lib/paths.ts';
import { type SynthResult, synthPlatform } from './fixture.ts';

let synth: SynthResult;

beforeAll(() => {
  synth = synthPlatform();
});

const PHYSICAL_NAMES = [
  'BucketName',
  'TableName',
  'FunctionName',
  'RoleName',
  'StateMachineName',
  'TopicName',
  'AlarmName',
  'DashboardName',
  'LogGroupName',
  'KeyAlias',
];

describe('the platform app', () => {
  it('GIVEN stage test WHEN built THEN it has the four Mlops-test-* stacks, environment-agnostic', () => {
    const names = synth.assembly.stacks.map((s) => s.stackName).sort();
    expect(names).toEqual([
      'Mlops-test-Data',
      'Mlops-test-Monitoring',
      'Mlops-test-Pipeline',
      'Mlops-test-Serving',
    ]);
    for (const stack of synth.assembly.stacks) {
      expect(stack.environment.account).toBe('unknown-account');
      expect(stack.environment.region).toBe('unknown-region');
    }
  });

  it('GIVEN contracts/outputs.ts WHEN synthesized THEN the stacks are named by stackName and declare every output id it lists, and no other', () => {
    const declared = synth.assembly.stacks.flatMap((s) => Object.keys(s.template.Outputs ?? {}));
    // CDK's own outputs (cross-stack exports, the REST API's endpoint) carry a hash in their id.
    const ids = declared.filter((id) => !id.startsWith('ExportsOutput') && !/[0-9A-F]{8}$/.test(id));
    expect(new Set(ids)).toEqual(new Set(Object.values(stackOutputs)));
    expect(synth.stacks.pipeline.stackName).toBe(stackName('test', 'Pipeline'));
    expect(Object.values(synth.stacks).map((s) => s.stackName)).toEqual(
      stackParts.map((part) => stackName('test', part)),
    );
  });

  it('GIVEN the stacks WHEN synthesized THEN there are no error or warning annotations', () => {
    for (const stack of Object.values(synth.stacks)) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    }
  });

  it('GIVEN two stages in one app WHEN synthesized THEN no resource has a literal physical name but the alarms, whose names carry their stage', () => {
    const app = new App({
      context: { ...readCdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
      outdir: mkdtempSync(join(tmpdir(), 'mlops-two-stages-')),
    });
    const blue = buildApp(app, buildConfig({ stage: 'blue' }, loadModels(MODELS_DIR)));
    const green = buildApp(app, buildConfig({ stage: 'green' }, loadModels(MODELS_DIR)));
    const alarmNames: string[] = [];
    for (const [stage, stacks] of [
      ['blue', blue],
      ['green', green],
    ] as const) {
      for (const stack of Object.values(stacks)) {
        for (const [id, resource] of Object.entries(Template.fromStack(stack).toJSON().Resources ?? {})) {
          const props = Object.entries((resource as { Properties?: object }).Properties ?? {});
          // Alarm names are spelled out so that an operator, the CLI and the rules can tell an alarm's
          // model and kind from its name (contracts/alarms.ts); they start with the stage's prefix.
          const fixed = props.filter(
            ([p, value]) =>
              PHYSICAL_NAMES.includes(p) &&
              typeof value === 'string' &&
              !(p === 'AlarmName' && value.startsWith(`mlops-${stage}-`)),
          );
          expect(fixed, `${stack.stackName}/${id}`).toEqual([]);
          for (const [p, value] of props) if (p === 'AlarmName') alarmNames.push(String(value));
        }
      }
    }
    expect(alarmNames.length).toBeGreaterThan(10);
    expect(new Set(alarmNames).size, 'alarm names are unique across the two stages').toBe(alarmNames.length);
  });

  it('fails when the stage is not a valid name, naming the key', () => {
    expect(() => buildConfig({ stage: 'Prod_1' }, loadModels(MODELS_DIR))).toThrow(
      /- stage: must be 1-16 lower-case/,
    );
  });

  it('fails when defaultModel has no model file, naming the key', () => {
    expect(() => buildConfig({ stage: 'test', defaultModel: 'fraud' }, loadModels(MODELS_DIR))).toThrow(
      /defaultModel: "fraud" has no models\/fraud\.json/,
    );
  });

  it('fails when bin/app.ts gets an invalid config: it prints the message without a stack trace and exits 1', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({
          mlops: { stage: 'Bad Stage', clients: [{ name: 'a', rateLimit: -1 }] },
        }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'mlops-bad-config-')),
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid platform config');
    expect(result.stderr).toContain('- stage:');
    expect(result.stderr).toContain('- clients.0.rateLimit:');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('GIVEN -c stage=<name> WHEN bin/app.ts runs THEN that stage overrides the context config', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'mlops-stage-override-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({
          mlops: { stage: 'dev' },
          stage: 'qa',
          'aws:cdk:bundling-stacks': [],
        }),
        CDK_OUTDIR: outdir,
      },
    });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    expect(spawnSync('ls', [outdir], { encoding: 'utf8' }).stdout).toContain('Mlops-qa-Data.template.json');
  });
});
