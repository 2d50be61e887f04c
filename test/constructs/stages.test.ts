import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmName } from '../../contracts/alarms.ts';
import { readCdkJsonContext } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { synthPlatform } from './fixture.ts';

/** One `mlops` object for both stages: the defaults, and a `live` block with what differs. */
const MLOPS = {
  serving: { mode: 'endpoint' },
  stages: {
    live: {
      trainingInstanceType: 'ml.g5.4xlarge',
      serving: { instanceCount: 3 },
      clients: [
        { name: 'default', rateLimit: 400, burstLimit: 800, quota: { limit: 1_000_000, period: 'DAY' } },
      ],
      models: { credit: { alarms: { latencyP99Ms: 300 } } },
    },
  },
};

type Resource = { Properties: Record<string, unknown> };

interface StageTemplates {
  pipeline: Template;
  serving: Template;
  monitoring: Template;
}

function synthStage(stage: string): StageTemplates {
  const { stacks } = synthPlatform({ config: { ...MLOPS, stage } });
  return {
    pipeline: Template.fromStack(stacks.pipeline),
    serving: Template.fromStack(stacks.serving),
    monitoring: Template.fromStack(stacks.monitoring),
  };
}

/**
 * The instance type the training state machine's CreateTrainingJob task asks for: the task's
 * `ResourceConfig.InstanceType` in the inline definition, with the template's substitutions applied.
 */
function trainingInstanceType(pipeline: Template): string {
  const machines = Object.values(pipeline.findResources('AWS::StepFunctions::StateMachine')) as Resource[];
  const found = machines.flatMap((m) => {
    const definition = JSON.parse(
      (m.Properties.DefinitionString as string).replace(/"\$\{\w+\}"|\$\{\w+\}/g, (p) =>
        p.startsWith('"') ? p : '0',
      ),
    ) as {
      States: Record<
        string,
        { Resource?: string; Parameters?: { ResourceConfig?: { InstanceType: string } } }
      >;
    };
    return Object.values(definition.States)
      .filter((s) => s.Resource?.startsWith('arn:aws:states:::sagemaker:createTrainingJob'))
      .map((s) => {
        const placeholder = s.Parameters!.ResourceConfig!.InstanceType;
        const name = /^\$\{(\w+)\}$/.exec(placeholder)?.[1];
        const substitutions = m.Properties.DefinitionSubstitutions as Record<string, string>;
        return name ? substitutions[name]! : placeholder;
      });
  });
  expect(found, 'one CreateTrainingJob task').toHaveLength(1);
  return found[0]!;
}

/** The throttle and quota of the usage plan of the `default` client's key. */
function defaultClientPlan(serving: Template): { Throttle: unknown; Quota: unknown } {
  const plans = Object.values(serving.findResources('AWS::ApiGateway::UsagePlan')) as Resource[];
  expect(plans, 'one usage plan (one client)').toHaveLength(1);
  return { Throttle: plans[0]!.Properties.Throttle, Quota: plans[0]!.Properties.Quota };
}

/** The threshold of the stage's p99 latency alarm of the credit model. */
function latencyThreshold(monitoring: Template, stage: string): number {
  const alarms = Object.values(
    monitoring.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmName: alarmName(stage, 'latency', 'credit') },
    }),
  ) as Resource[];
  expect(alarms).toHaveLength(1);
  return alarms[0]!.Properties.Threshold as number;
}

/** The instance count the pipelines' endpoint function gives each endpoint variant. */
function servingInstanceCount(pipeline: Template): string {
  const counts = (Object.values(pipeline.findResources('AWS::Lambda::Function')) as Resource[])
    .map((f) => (f.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables)
    .map((v) => v?.ENDPOINT_INSTANCE_COUNT)
    .filter((c): c is string => c !== undefined);
  expect(counts.length, 'a function that creates endpoints').toBeGreaterThan(0);
  expect(new Set(counts).size).toBe(1);
  return counts[0]!;
}

describe('stages that differ', () => {
  let dev: StageTemplates;
  let live: StageTemplates;

  beforeAll(() => {
    dev = synthStage('dev');
    live = synthStage('live');
  });

  it("GIVEN a live block WHEN each stage is synthesized THEN each training job asks for its stage's instance type", () => {
    expect(trainingInstanceType(dev.pipeline)).toBe('ml.g5.xlarge');
    expect(trainingInstanceType(live.pipeline)).toBe('ml.g5.4xlarge');
  });

  it("GIVEN a live block WHEN each stage is synthesized THEN each client's usage plan has its stage's throttle and quota", () => {
    expect(defaultClientPlan(dev.serving)).toEqual({
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: undefined,
    });
    expect(defaultClientPlan(live.serving)).toEqual({
      Throttle: { RateLimit: 400, BurstLimit: 800 },
      Quota: { Limit: 1_000_000, Period: 'DAY' },
    });
  });

  it("GIVEN a live block with a credit override WHEN each stage is synthesized THEN each latency alarm has its stage's budget", () => {
    expect(latencyThreshold(dev.monitoring, 'dev')).toBe(1000);
    expect(latencyThreshold(live.monitoring, 'live')).toBe(300);
  });

  it('GIVEN a live block WHEN each stage is synthesized THEN each endpoint variant gets its stage’s instance count', () => {
    expect(servingInstanceCount(dev.pipeline)).toBe('1');
    expect(servingInstanceCount(live.pipeline)).toBe('3');
  });
});

describe("cdk.json's stages through the CDK entry point", () => {
  /**
   * Runs bin/app.ts as `cdk synth` does (the context in CDK_CONTEXT_JSON, cdk.json's plus `-c`
   * values; no bundling) and returns the stage's templates.
   */
  function synthApp(cliContext: Record<string, unknown>): {
    Pipeline: Template;
    Serving: Template;
    Monitoring: Template;
  } {
    const outdir = mkdtempSync(join(tmpdir(), 'mlops-stage-app-'));
    const context = { ...readCdkJsonContext(), ...cliContext, 'aws:cdk:bundling-stacks': [] };
    const stage = (cliContext.stage as string | undefined) ?? 'dev';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bin', 'app.ts')], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        stdio: 'pipe',
      });
      const read = (part: string) =>
        Template.fromJSON(
          JSON.parse(readFileSync(join(outdir, `Mlops-${stage}-${part}.template.json`), 'utf8')),
        );
      return { Pipeline: read('Pipeline'), Serving: read('Serving'), Monitoring: read('Monitoring') };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }

  it("GIVEN -c stage=prod WHEN bin/app.ts synthesizes THEN the templates carry cdk.json's prod block, and the default stage its defaults", () => {
    const prod = synthApp({ stage: 'prod' });
    const dev = synthApp({});
    expect(trainingInstanceType(prod.Pipeline)).toBe('ml.g5.2xlarge');
    expect(trainingInstanceType(dev.Pipeline)).toBe('ml.g5.xlarge');
    expect(defaultClientPlan(prod.Serving).Throttle).toEqual({ RateLimit: 200, BurstLimit: 400 });
    expect(defaultClientPlan(dev.Serving).Throttle).toEqual({ RateLimit: 50, BurstLimit: 100 });
    expect(latencyThreshold(prod.Monitoring, 'prod')).toBe(500);
    expect(latencyThreshold(dev.Monitoring, 'dev')).toBe(1000);
  });

  it('fails GIVEN a bad stage block WHEN bin/app.ts synthesizes THEN it exits 1 naming the key and what is allowed', () => {
    const mlops = { stage: 'dev', stages: { prod: { serving: { instanceCont: 2 } } } };
    let stderr = '';
    expect(() => {
      try {
        synthApp({ mlops: JSON.stringify(mlops) });
      } catch (err) {
        stderr = String((err as { stderr?: Buffer }).stderr);
        throw err;
      }
    }).toThrow();
    expect(stderr).toContain(
      '- mlops.stages.prod.serving.instanceCont: unknown key; allowed: mode, instanceType, instanceCount,',
    );
  });
});
