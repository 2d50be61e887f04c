import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionNamed, type SynthResult, synthPlatform, validationViolations } from './fixture.ts';

type Resource = { Properties: Record<string, unknown> };

/** Every policy statement attached to the role of a function, flattened. */
function statementsOf(
  template: Template,
  fn: Resource,
): { Action: unknown; Resource: unknown; Condition?: unknown }[] {
  const roleRef = JSON.stringify((fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p as Resource).Properties.Roles).includes(roleRef))
    .flatMap((p) => ((p as Resource).Properties.PolicyDocument as { Statement: never[] }).Statement);
}

describe('serving mode endpoint', () => {
  let synth: SynthResult;
  let pipeline: Template;
  let serving: Template;
  beforeAll(() => {
    synth = synthPlatform({
      config: { serving: { mode: 'endpoint', instanceType: 'ml.c5.large', incumbentWarmMinutes: 30 } },
    });
    pipeline = Template.fromStack(synth.stacks.pipeline);
    serving = Template.fromStack(synth.stacks.serving);
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN cdk-nag finds nothing unacknowledged', () => {
    for (const stack of Object.values(synth.stacks)) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    }
    expect(validationViolations(synth.assembly)).toEqual([]);
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN the sync function gets the endpoint settings', () => {
    const fn = functionNamed(pipeline, 'sync-endpoint');
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      SERVING_MODE: 'endpoint',
      ENDPOINT_PREFIX: 'mlops-test',
      ENDPOINT_INSTANCE_TYPE: 'ml.c5.large',
      ENDPOINT_INSTANCE_COUNT: '1',
      ENDPOINT_WARM_MINUTES: '30',
      INFERENCE_IMAGE_URI: expect.anything(),
      MODEL_EXECUTION_ROLE_ARN: expect.anything(),
    });
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN the sync function may change only the stage-prefixed endpoints, configs and models, and pass only the model role to SageMaker', () => {
    const statements = statementsOf(pipeline, functionNamed(pipeline, 'sync-endpoint'));
    const sagemaker = statements.find((s) => JSON.stringify(s.Action).includes('sagemaker:CreateEndpoint'));
    expect(sagemaker).toBeDefined();
    const resources = JSON.stringify(sagemaker!.Resource);
    for (const kind of ['endpoint/mlops-test-*', 'endpoint-config/mlops-test-*', 'model/mlops-test-*']) {
      expect(resources).toContain(kind);
    }
    expect(JSON.stringify(sagemaker!.Action)).not.toContain('sagemaker:*');
    expect(JSON.stringify(sagemaker!.Action)).not.toContain('Delete');
    const pass = statements.find((s) => s.Action === 'iam:PassRole');
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
    expect(JSON.stringify(pass?.Resource)).toContain('EndpointsModelRole');
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN the model role is assumed by SageMaker and reads only the artifacts zone', () => {
    const roles = pipeline.findResources('AWS::IAM::Role', {
      Properties: { Description: 'Execution role of the platform SageMaker models (endpoint serving)' },
    });
    expect(Object.keys(roles)).toHaveLength(1);
    const [id, role] = Object.entries(roles)[0]!;
    expect(JSON.stringify((role as Resource).Properties.AssumeRolePolicyDocument)).toContain(
      'sagemaker.amazonaws.com',
    );
    const policies = Object.values(pipeline.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify((p as Resource).Properties.Roles).includes(id),
    );
    const text = JSON.stringify(policies);
    expect(text).toContain('/artifacts/*');
    expect(text).not.toContain('/curated/*');
    expect(text).not.toContain('s3:PutObject');
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN a schedule per model runs the sync, so warm variants leave after their window', () => {
    const rules = Object.values(pipeline.findResources('AWS::Events::Rule')) as Resource[];
    const syncRules = rules.filter((r) =>
      String(r.Properties.Description).includes('endpoint in line with the registry'),
    );
    expect(syncRules).toHaveLength(synth.config.models.length);
    for (const rule of syncRules) {
      expect(rule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
      const [target] = rule.Properties.Targets as { Input: string }[];
      expect(JSON.parse(target!.Input)).toMatchObject({ include: [], previous: null });
    }
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN the predict function invokes only the stage endpoints', () => {
    const fn = functionNamed(serving, 'predict');
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      SERVING_MODE: 'endpoint',
      ENDPOINT_PREFIX: 'mlops-test',
    });
    const invoke = statementsOf(serving, fn).find((s) => s.Action === 'sagemaker:InvokeEndpoint');
    expect(JSON.stringify(invoke?.Resource)).toContain(':endpoint/mlops-test-*');
  });

  it('GIVEN the default serving mode WHEN synthesized THEN there is no model role and no SageMaker endpoint access', () => {
    const lambdaMode = synthPlatform();
    const p = Template.fromStack(lambdaMode.stacks.pipeline);
    expect(
      Object.keys(
        p.findResources('AWS::IAM::Role', {
          Properties: { Description: 'Execution role of the platform SageMaker models (endpoint serving)' },
        }),
      ),
    ).toHaveLength(0);
    expect(JSON.stringify(p.toJSON())).not.toContain('sagemaker:CreateEndpoint');
    const s = Template.fromStack(lambdaMode.stacks.serving);
    expect(JSON.stringify(s.toJSON())).not.toContain('sagemaker:InvokeEndpoint');
    expect(
      (functionNamed(s, 'predict').Properties.Environment as { Variables: Record<string, unknown> }).Variables
        .SERVING_MODE,
    ).toBe('lambda');
  });

  it('fails on an invalid serving config, naming the key', () => {
    expect(() => synthPlatform({ config: { serving: { mode: 'sagemaker' } } })).toThrow(/serving\.mode/);
    expect(() => synthPlatform({ config: { serving: { instanceType: 'm5.large' } } })).toThrow(
      /serving\.instanceType: must be a SageMaker instance type/,
    );
  });
});
