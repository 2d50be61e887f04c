import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionNamed, type SynthResult, synthPlatform } from './fixture.ts';

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

let synth: SynthResult;
let data: Template;
let serving: Template;

beforeAll(() => {
  synth = synthPlatform();
  data = Template.fromStack(synth.stacks.data);
  serving = Template.fromStack(synth.stacks.serving);
});

/** The statements of the policies attached to a function's role. */
function statementsOf(template: Template, fn: { Properties: Record<string, unknown> }): Statement[] {
  const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('the prediction API internals', () => {
  it('GIVEN the data stack WHEN synthesized THEN the idempotency table is keyed by id, expires through expiration, with PITR, the platform key and the removal policy', () => {
    const keyId = synth.stacks.data.getLogicalId(synth.stacks.data.key.node.defaultChild as CfnElement);
    const tableId = synth.stacks.data.getLogicalId(
      synth.stacks.data.idempotency.table.node.defaultChild as CfnElement,
    );
    const table = data.findResources('AWS::DynamoDB::Table')[tableId]!;
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
    // The test config's removal policy (destroy) applies to it as to the other tables.
    expect(table.DeletionPolicy).toBe(synth.config.removalPolicy === 'retain' ? 'Retain' : 'Delete');
  });

  it('GIVEN predict WHEN synthesized THEN it gets the idempotency table and window and the shadow function by name', () => {
    const vars = (
      functionNamed(serving, 'predict').Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(vars).toMatchObject({ IDEMPOTENCY_TTL_SECONDS: '3600' });
    expect(JSON.stringify(vars.IDEMPOTENCY_TABLE)).toContain('Idempotency');
    const shadowId = synth.stacks.serving.getLogicalId(
      synth.stacks.serving.prediction.shadowHandler.node.defaultChild as CfnElement,
    );
    expect(vars.SHADOW_FUNCTION).toEqual({ Ref: shadowId });
  });

  it('GIVEN the predict role WHEN synthesized THEN it may only get, put, update and delete items of the idempotency table, and invoke only the shadow function', () => {
    const statements = statementsOf(serving, functionNamed(serving, 'predict'));
    const onIdempotency = statements.filter((s) => JSON.stringify(s.Resource).includes('Idempotency'));
    expect(onIdempotency).toHaveLength(1);
    expect(actions(onIdempotency[0]!).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(JSON.stringify(onIdempotency[0]!.Resource)).not.toContain('*');
    const invoke = statements.filter((s) => actions(s).some((a) => a.startsWith('lambda:')));
    const shadowId = synth.stacks.serving.getLogicalId(
      synth.stacks.serving.prediction.shadowHandler.node.defaultChild as CfnElement,
    );
    expect(invoke).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [shadowId, 'Arn'] } },
    ]);
  });

  it('GIVEN the shadow function WHEN synthesized THEN its asynchronous invocations are not retried, and it writes the log but may not invoke anything', () => {
    const shadowId = synth.stacks.serving.getLogicalId(
      synth.stacks.serving.prediction.shadowHandler.node.defaultChild as CfnElement,
    );
    serving.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: shadowId },
      MaximumRetryAttempts: 0,
      Qualifier: '$LATEST',
    });
    const statements = statementsOf(serving, functionNamed(serving, 'shadow'));
    expect(statements.flatMap(actions)).toContain('dynamodb:BatchWriteItem');
    expect(statements.flatMap(actions).filter((a) => a.startsWith('lambda:'))).toEqual([]);
    expect(JSON.stringify(statements)).not.toContain('Idempotency');
    serving.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'shadow', SERVING_MODE: 'lambda' }),
      },
    });
  });
});
