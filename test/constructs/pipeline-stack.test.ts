import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { list } from 'tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { AslStateMachine, readDefinition } from '../../lib/constructs/asl-state-machine.ts';
import { XGBOOST_REGISTRY_ACCOUNTS } from '../../lib/constructs/training-image.ts';
import { buildSourceDirTarball } from '../../lib/sourcedir.ts';
import { functionNamed as fixtureFunctionNamed, type SynthResult, synthPlatform } from './fixture.ts';

let synth: SynthResult;
let template: Template;

beforeAll(() => {
  synth = synthPlatform({ bundle: ['Pipeline'] });
  template = Template.fromStack(synth.stacks.pipeline);
});

type Resource = { Properties: Record<string, unknown> };

/** An ASL substitution placeholder, `${key}`. */
const placeholder = (key: string): string => `\${${key}}`;

/**
 * An ASL definition as JSON. A placeholder may stand for a number outside quotes (a Map's
 * concurrency): those become 0, quoted ones stay.
 */
const aslJson = (text: string): unknown => JSON.parse(text.replace(/(:\s*)\$\{[A-Za-z0-9_]+\}/g, '$10'));

function stateMachine(substitutionKey: string): Resource {
  const found = Object.values(
    template.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { DefinitionSubstitutions: { [substitutionKey]: Match.anyValue() } },
    }),
  ) as Resource[];
  expect(found).toHaveLength(1);
  return found[0]!;
}

const functionNamed = (name: string): Resource => fixtureFunctionNamed(template, name);
const variablesOfFn = (fn: Resource): Record<string, unknown> =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

/** The bundled `.mjs` of a function, as the asset uploads it. */
function bundleOf(name: string): string {
  const key = String((functionNamed(name).Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
  const dir = join(synth.assembly.directory, `asset.${key}`);
  return readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.mjs'))!), 'utf8');
}

describe('PipelineStack', () => {
  it('GIVEN the pipelines WHEN synthesized THEN seven state machines (training, promotion, rollback, batch scoring and the promotion stages) log ALL events to encrypted log groups and trace', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 7);
    for (const sm of Object.values(template.findResources('AWS::StepFunctions::StateMachine'))) {
      expect(sm.Properties).toMatchObject({
        StateMachineType: 'STANDARD',
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
        TracingConfiguration: { Enabled: true },
      });
    }
    for (const lg of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(lg.Properties).toMatchObject({
        KmsKeyId: { 'Fn::ImportValue': expect.any(String) },
        RetentionInDays: 30,
      });
    }
  });

  it('GIVEN the training ASL WHEN synthesized THEN the inline definition runs a .sync SageMaker training job', () => {
    const definition = String(stateMachine('TrainingInstanceType').Properties.DefinitionString);
    expect(definition).toContain('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(definition).toContain(placeholder('TrainingImageUri'));
    expect(aslJson(readFileSync('pipelines/training.asl.json', 'utf8'))).toEqual(aslJson(definition));
  });

  it('GIVEN the default config WHEN synthesized THEN training trains on ml.g5.xlarge with every substitution set', () => {
    const subs = stateMachine('TrainingInstanceType').Properties.DefinitionSubstitutions as Record<
      string,
      unknown
    >;
    expect(Object.keys(subs).sort()).toEqual(
      [
        'TrainingLeaseFunctionArn',
        'PrepareFeaturesFunctionArn',
        'EvaluateModelFunctionArn',
        'RegisterModelFunctionArn',
        'TrainingImageUri',
        'SageMakerRoleArn',
        'TrainingInstanceType',
        'TrainingVolumeSizeGb',
        'TrainingMaxRuntimeSeconds',
        'LakeBucketName',
        'LakeKeyArn',
        'OperatorTopicArn',
        'PromotionStateMachineArn',
        'PrepareMaxConcurrency',
      ].sort(),
    );
    expect(subs).toMatchObject({
      TrainingInstanceType: 'ml.g5.xlarge',
      TrainingVolumeSizeGb: '30',
      TrainingMaxRuntimeSeconds: '3600',
      PrepareMaxConcurrency: '10',
    });
  });

  it('GIVEN promotion and rollback WHEN synthesized THEN they and the promotion stages get exactly their substitution keys', () => {
    const keys = (key: string) =>
      Object.keys(stateMachine(key).Properties.DefinitionSubstitutions as object).sort();
    expect(keys('SetAliasFunctionArn')).toEqual([
      'CanaryStateMachineArn',
      'CompareModelsFunctionArn',
      'DeployModelFunctionArn',
      'EndpointSyncStateMachineArn',
      'GuardrailFunctionArn',
      'MarkFailedFunctionArn',
      'OperatorTopicArn',
      'SetAliasFunctionArn',
      'ShadowStateMachineArn',
    ]);
    expect(keys('RollbackFunctionArn')).toEqual([
      'DeployModelFunctionArn',
      'EndpointSyncStateMachineArn',
      'OperatorTopicArn',
      'RollbackFunctionArn',
    ]);
    expect(keys('SyncEndpointFunctionArn')).toEqual(['OperatorTopicArn', 'SyncEndpointFunctionArn']);
    const stages = Object.values(
      template.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { DefinitionSubstitutions: { CanaryFunctionArn: Match.anyValue() } },
      }),
    ) as Resource[];
    expect(stages.map((sm) => Object.keys(sm.Properties.DefinitionSubstitutions as object).sort())).toEqual([
      ['CanaryFunctionArn', 'EndpointSyncStateMachineArn'],
      ['CanaryFunctionArn', 'EndpointSyncStateMachineArn'],
    ]);
  });

  it('GIVEN the promotion stages WHEN synthesized THEN each inline definition is its ASL file, and a parent may run exactly the state machines it nests', () => {
    const all = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')) as [
      string,
      Resource,
    ][];
    const parse = (sm: Resource) => aslJson(String(sm.Properties.DefinitionString)) as { States: object };
    const definitions = all.map(([, sm]) => parse(sm) as unknown);
    for (const file of ['promotion', 'shadow', 'canary', 'endpoint-sync', 'rollback']) {
      const asl = JSON.parse(readFileSync(`pipelines/${file}.asl.json`, 'utf8')) as unknown;
      expect(definitions.filter((d) => JSON.stringify(d) === JSON.stringify(asl))).toHaveLength(1);
    }
    // Which state machines each role may start: the promotion its three stages, each stage and the
    // rollback the endpoint sync, and the endpoint sync none.
    const idWith = (state: string) => all.find(([, sm]) => Object.hasOwn(parse(sm).States, state))![0];
    const starts = (id: string) => {
      const role = JSON.stringify(all.find(([logicalId]) => logicalId === id)![1].Properties.RoleArn);
      const roleId = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(role)![1]!;
      return Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties?.Roles).includes(roleId))
        .flatMap(
          (p) =>
            (p.Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } }).PolicyDocument
              .Statement,
        )
        .filter((st) => JSON.stringify(st.Action) === '"states:StartExecution"')
        .flatMap((st) => [...JSON.stringify(st.Resource).matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1]!))
        .sort();
    };
    const [promotion, shadow, canary, sync, rollback] = [
      'CompareWithIncumbent',
      'StartShadow',
      'StartCanary',
      'SyncEndpoint',
      'RollbackAlias',
    ].map(idWith) as [string, string, string, string, string];
    expect(starts(promotion)).toEqual([sync, shadow, canary].sort());
    expect(starts(shadow)).toEqual([sync]);
    expect(starts(canary)).toEqual([sync]);
    expect(starts(rollback)).toEqual([sync]);
    expect(starts(sync)).toEqual([]);
  });

  it('GIVEN no trainingImageUri WHEN synthesized THEN the XGBoost 1.7-1 image account comes from a region mapping', () => {
    const subs = stateMachine('TrainingInstanceType').Properties.DefinitionSubstitutions as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(subs.TrainingImageUri)).toContain('Fn::FindInMap');
    expect(JSON.stringify(subs.TrainingImageUri)).toContain('/sagemaker-xgboost:1.7-1');
    const mappings = Object.values(
      template.toJSON().Mappings as Record<string, Record<string, { account: string }>>,
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({
      'us-east-1': { account: '683313688378' },
      'us-east-2': { account: '257758044811' },
      'us-west-2': { account: '246618743249' },
      'eu-west-1': { account: '141502667606' },
      'eu-central-1': { account: '492215442770' },
    });
    expect(Object.keys(mappings[0]!)).toHaveLength(Object.keys(XGBOOST_REGISTRY_ACCOUNTS).length);
  });

  it('GIVEN batch scoring WHEN synthesized THEN its machine is its ASL with its concurrency set, and its role may start only its own children', () => {
    const sm = stateMachine('ScoreFunctionArn');
    const subs = sm.Properties.DefinitionSubstitutions as Record<string, unknown>;
    expect(Object.keys(subs).sort()).toEqual(
      ['JobFunctionArn', 'LakeBucket', 'MapResultsPrefix', 'MaxConcurrency', 'ScoreFunctionArn'].sort(),
    );
    expect(subs).toMatchObject({
      MaxConcurrency: '10',
      MapResultsPrefix: 'scores/_map-results',
    });
    const text = String(sm.Properties.DefinitionString);
    expect(text).toBe(readFileSync('pipelines/batch-scoring.asl.json', 'utf8'));
    const map = (
      aslJson(text) as {
        States: Record<string, Record<string, unknown>>;
      }
    ).States.ScoreRows!;
    expect(map.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'DISTRIBUTED' } });
    // The input's byte ranges, one per child, from the list the resolve step wrote.
    expect(map.ItemReader).toMatchObject({ ReaderConfig: { InputType: 'JSON' } });
    expect(map.ItemBatcher).toBeUndefined();
    // No literal name: the machine's generated name starts with its logical id, and its role may
    // start executions of that name only.
    expect(sm.Properties.StateMachineName).toBeUndefined();
    const [logicalId] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).find(
      ([, r]) => r === sm,
    )!;
    const role = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(JSON.stringify(sm.Properties.RoleArn))![1]!;
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties?.Roles).includes(role))
      .flatMap(
        (p) =>
          (p.Properties as { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } })
            .PolicyDocument.Statement,
      );
    const starts = statements.filter((st) => JSON.stringify(st.Action).includes('states:StartExecution'));
    expect(starts).toHaveLength(1);
    expect(JSON.stringify(starts[0]!.Resource)).toContain(`:stateMachine:${logicalId}-*"`);
  });

  it("GIVEN the training state machine WHEN synthesized THEN its role may run, poll and stop only the stage's jobs", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [
              'sagemaker:AddTags',
              'sagemaker:CreateTrainingJob',
              'sagemaker:DescribeTrainingJob',
              'sagemaker:ListTags',
              'sagemaker:StopTrainingJob',
            ],
            Resource: {
              'Fn::Join': ['', Match.arrayWith([`:training-job/${trainingJobPrefix('test')}*`])],
            },
          }),
          Match.objectLike({
            Action: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
            Resource: {
              'Fn::Join': ['', Match.arrayWith([':rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule'])],
            },
          }),
          Match.objectLike({
            Action: 'iam:PassRole',
            Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
          }),
        ]),
      },
    });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain(':training-job/credit');
  });

  it('GIVEN the SageMaker role WHEN synthesized THEN SageMaker assumes it to read curated/ and write artifacts/', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
      },
    });
    const json = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(json).toContain('/curated/*');
    expect(json).toContain('/artifacts/*');
    expect(json).toContain(':repository/sagemaker-xgboost');
    expect(json).toContain('log-group:/aws/sagemaker/TrainingJobs');
  });

  it('GIVEN the fourteen task functions WHEN synthesized THEN each is Node.js 22 on arm64, traced, with its own log group', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
    expect(functions).toHaveLength(14);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
        Environment: {
          Variables: expect.objectContaining({
            MLOPS_STAGE: 'test',
            POWERTOOLS_METRICS_NAMESPACE: 'Mlops/test',
          }),
        },
      });
    }
    for (const fn of functions) {
      expect((fn.Properties.Environment as { Variables: object }).Variables).not.toHaveProperty(
        'NODE_OPTIONS',
      );
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('GIVEN prepare-features WHEN synthesized THEN it knows the training code tarball, its hash and the image', () => {
    const code = synth.stacks.pipeline.training.trainingCode;
    expect(code.sha256).toMatch(/^[0-9a-f]{64}$/);
    const fn = functionNamed('prepare-features');
    expect(fn.Properties).toMatchObject({ MemorySize: 2048, Timeout: 900 });
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.TRAINING_CODE_SHA256).toBe(code.sha256);
    expect(JSON.stringify(env.TRAINING_SOURCE_URI)).toMatch(
      /s3:\/\/cdk-[a-z0-9]+-assets-.*\/[0-9a-f]{64}\.gz/,
    );
    expect(JSON.stringify(env.TRAINING_IMAGE_URI)).toContain('sagemaker-xgboost:1.7-1');
    expect(env.LAKE_BUCKET).toBeDefined();
    expect(env.TRAINING_JOB_PREFIX).toBe(trainingJobPrefix('test'));
  });

  it('GIVEN each function WHEN synthesized THEN its environment names the tables and bucket it is granted', () => {
    const env = (name: string) =>
      Object.keys((functionNamed(name).Properties.Environment as { Variables: object }).Variables).filter(
        (k) => k === 'LAKE_BUCKET' || k === 'REGISTRY_TABLE' || k === 'PREDICTION_LOG_TABLE',
      );
    expect(env('prepare-features')).toEqual(['LAKE_BUCKET']);
    expect(env('evaluate-model')).toEqual(['LAKE_BUCKET']);
    expect(env('register-model')).toEqual(['REGISTRY_TABLE']);
    expect(env('compare-models').sort()).toEqual(['LAKE_BUCKET', 'REGISTRY_TABLE']);
    expect(env('guardrail').sort()).toEqual(['LAKE_BUCKET', 'REGISTRY_TABLE']);
    expect(env('deploy-model').sort()).toEqual(['LAKE_BUCKET', 'REGISTRY_TABLE']);
    expect(env('set-alias')).toEqual(['REGISTRY_TABLE']);
    expect(env('canary').sort()).toEqual(['PREDICTION_LOG_TABLE', 'REGISTRY_TABLE']);
    expect(env('mark-failed')).toEqual(['REGISTRY_TABLE']);
    expect(env('rollback')).toEqual(['REGISTRY_TABLE']);
    expect(env('training-lease')).toEqual(['REGISTRY_TABLE']);
  });

  it('GIVEN the training lease function WHEN synthesized THEN it may only get, put and delete registry items, with the registry key', () => {
    const fn = functionNamed('training-lease');
    const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify((p as Resource).Properties.Roles).includes(`"${role}"`))
      .flatMap(
        (p) =>
          (
            p as {
              Properties: {
                PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
              };
            }
          ).Properties.PolicyDocument.Statement,
      );
    const actions = (prefix: string) =>
      statements
        .flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]))
        .filter((a) => a.startsWith(prefix))
        .sort();
    expect(actions('dynamodb:')).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(actions('kms:')).toEqual([
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
    ]);
    expect(actions('s3:')).toEqual([]);
    const dynamo = statements.find((st) => JSON.stringify(st.Action).includes('dynamodb:'))!;
    // The registry table, exported by the data stack, and nothing else.
    expect(JSON.stringify(dynamo.Resource)).toMatch(/ImportValue.*Registry/);
    expect(variablesOfFn(fn)).toMatchObject({
      LEASE_MINUTES: synth.config.models.map((m) => `${m.name}=${m.retraining.leaseMinutes}`).join(','),
      DEFAULT_LEASE_MINUTES: '240',
    });
    // The training state machine invokes it first and last.
    const definition = aslJson(String(stateMachine('TrainingInstanceType').Properties.DefinitionString)) as {
      StartAt: string;
      States: Record<string, { Parameters: { FunctionName: string } }>;
    };
    expect(definition.StartAt).toBe('AcquireLease');
    for (const state of ['AcquireLease', 'ReleaseLease', 'ReleaseLeaseAfterFailure']) {
      expect(definition.States[state]!.Parameters.FunctionName).toBe(placeholder('TrainingLeaseFunctionArn'));
    }
  });

  it('GIVEN bundling WHEN synthesized THEN the ESM bundle carries the model definitions and the require banner', () => {
    const bundle = bundleOf('prepare-features');
    expect(bundle.startsWith("import { createRequire } from 'node:module';")).toBe(true);
    const b64 = Buffer.from(JSON.stringify(synth.config.models)).toString('base64');
    expect(bundle).toContain(b64);
    expect(bundle).not.toContain('__MLOPS_MODELS_B64__ ===');
  });

  it('GIVEN bundling WHEN synthesized THEN only prepare-features has the model definitions compiled in', () => {
    const b64 = Buffer.from(JSON.stringify(synth.config.models)).toString('base64');
    const withModels = (Object.values(template.findResources('AWS::Lambda::Function')) as Resource[])
      .map(
        (fn) => (fn.Properties.Environment as { Variables: { POWERTOOLS_SERVICE_NAME: string } }).Variables,
      )
      .map((variables) => variables.POWERTOOLS_SERVICE_NAME)
      .filter((name) => bundleOf(name).includes(b64));
    expect(withModels).toEqual(['prepare-features']);
  });

  it('GIVEN a GPU instance type and an own image WHEN synthesized THEN the training job uses them', () => {
    const other = synthPlatform({
      config: {
        trainingInstanceType: 'ml.p3.2xlarge',
        trainingImageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-xgboost:1.7-1-gpu',
        trainingVolumeSizeGb: 100,
      },
    });
    const t = Template.fromStack(other.stacks.pipeline);
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: Match.objectLike({
        TrainingInstanceType: 'ml.p3.2xlarge',
        TrainingImageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-xgboost:1.7-1-gpu',
        TrainingVolumeSizeGb: '100',
      }),
    });
    expect(t.toJSON().Mappings).toBeUndefined();
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).toContain(
      ':ecr:eu-west-1:123456789012:repository/my-xgboost',
    );
  });

  it('fails when trainingImageUri is not an ECR image, naming the key', () => {
    expect(() => synthPlatform({ config: { trainingImageUri: 'docker.io/library/xgboost:latest' } })).toThrow(
      /trainingImageUri.*docker\.io\/library\/xgboost:latest/,
    );
  });

  it('fails when an ASL placeholder has no substitution, naming the file and the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asl-'));
    const file = join(dir, 'broken.asl.json');
    writeFileSync(
      file,
      JSON.stringify({
        StartAt: 'A',
        States: { A: { Type: 'Pass', Result: placeholder('Missing'), End: true } },
      }),
    );
    expect(() => readDefinition(file, { Other: 'x' })).toThrow(/broken\.asl\.json uses \$\{Missing\}/);
    const stack = new Stack(new App(), 'Asl');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expect(
      () =>
        new AslStateMachine(stack, 'M', { definitionFile: file, substitutions: {}, logEncryptionKey: key }),
    ).toThrow(/substitutions/);
  });

  it('fails when an ASL file is not JSON, naming the file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'asl-')), 'bad.asl.json');
    writeFileSync(file, '{ "StartAt": ');
    expect(() => readDefinition(file, {})).toThrow(
      /definitionFile: .*bad\.asl\.json is not a valid state machine/,
    );
  });
});

describe('buildSourceDirTarball', () => {
  it('GIVEN the same sources in two places WHEN built THEN the bytes are identical, sorted, at epoch, mode 644', () => {
    const make = () => {
      const src = mkdtempSync(join(tmpdir(), 'src-'));
      mkdirSync(join(src, 'sub'));
      mkdirSync(join(src, '__pycache__'));
      writeFileSync(join(src, 'train.py'), 'print("train")\n', { mode: 0o755 });
      writeFileSync(join(src, 'sub', 'util.py'), 'X = 1\n');
      writeFileSync(join(src, 'b.py'), 'B = 2\n');
      writeFileSync(join(src, '__pycache__', 'train.cpython-311.pyc'), 'cache');
      return src;
    };
    const a = buildSourceDirTarball(make(), { outputRoot: mkdtempSync(join(tmpdir(), 'out-')) });
    const b = buildSourceDirTarball(make(), { outputRoot: mkdtempSync(join(tmpdir(), 'out-')) });
    expect(a.sha256).toBe(b.sha256);
    expect(readFileSync(a.path).equals(readFileSync(b.path))).toBe(true);
    expect(a.files).toEqual(['b.py', 'sub/util.py', 'train.py']);
    const entries: { path: string; mode: number | undefined; mtime: number | undefined }[] = [];
    list({
      file: a.path,
      sync: true,
      onReadEntry: (e) => entries.push({ path: e.path, mode: e.mode, mtime: e.mtime?.getTime() }),
    });
    expect(entries).toEqual([
      { path: 'b.py', mode: 0o644, mtime: 0 },
      { path: 'sub/util.py', mode: 0o644, mtime: 0 },
      { path: 'train.py', mode: 0o644, mtime: 0 },
    ]);
    expect(readFileSync(a.path).subarray(4, 8).readUInt32LE(0)).toBe(0);
  });

  it('fails when the source directory is empty, naming the directory', () => {
    const empty = mkdtempSync(join(tmpdir(), 'empty-'));
    expect(() => buildSourceDirTarball(empty)).toThrow(new RegExp(`${empty}.*no files`));
  });
});
