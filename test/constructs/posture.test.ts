/**
 * The templates' security posture, asserted over every stack of both serving modes in one place:
 * cdk-nag AwsSolutions with every finding acknowledged for a specific reason; buckets TLS-only,
 * KMS-encrypted, private and access-logged; tables with PITR and a customer-managed key; no
 * service-wide action; `Resource: "*"` only for the actions listed below with the reason beside
 * each; every API method behind an API key or IAM; log retention on every function's log group;
 * logging and tracing on every state machine; a key that trusts a service only under a condition.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthResult, synthPlatform, validationViolations } from './fixture.ts';
import {
  asList,
  type CfnResource,
  nameOf,
  type StackTemplate,
  type Statement,
  templatesOf,
} from './template-iam.ts';

/**
 * The only actions granted on `Resource: "*"`, each because the service offers nothing narrower.
 * A new entry needs its reason, and a reviewer.
 */
const STAR_RESOURCE_ACTIONS: Record<string, string> = {
  'xray:PutTraceSegments':
    'X-Ray has no resource-level permissions (active tracing of functions and state machines).',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions (active tracing).',
  'xray:GetSamplingRules':
    'X-Ray sampling rules are read account-wide by the tracing client of Step Functions.',
  'xray:GetSamplingTargets':
    'X-Ray sampling targets are read account-wide by the tracing client of Step Functions.',
  'logs:CreateLogDelivery':
    'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource.',
  'logs:GetLogDelivery': 'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource.',
  'logs:UpdateLogDelivery':
    'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource.',
  'logs:DeleteLogDelivery':
    'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource.',
  'logs:ListLogDeliveries':
    'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource.',
  'logs:PutResourcePolicy':
    'Step Functions log delivery writes the log groups’ resource policy, which is account-wide.',
  'logs:DescribeResourcePolicies':
    'Step Functions log delivery reads the account-wide log resource policies.',
  'logs:DescribeLogGroups':
    'Step Functions log delivery lists log groups; the action has no resource-level permission.',
  'ecr:GetAuthorizationToken':
    'An ECR login token is account-wide; the pulls themselves are limited to the repository.',
  'cloudwatch:PutMetricData':
    'CloudWatch metrics have no resource-level permissions; every grant must carry a cloudwatch:namespace condition (asserted below).',
};

/** The access-log bucket: S3 server access logging cannot deliver to an SSE-KMS bucket, nor log itself usefully. */
const ACCESS_LOG_BUCKET = /AccessLogs/;

interface Scenario {
  readonly name: string;
  readonly synth: SynthResult;
  readonly templates: StackTemplate[];
}

const scenarios: Scenario[] = [];

beforeAll(() => {
  for (const [name, config] of [
    ['lambda', {}],
    ['endpoint', { serving: { mode: 'endpoint', instanceType: 'ml.c5.large' } }],
  ] as const) {
    const synth = synthPlatform({ config });
    scenarios.push({ name, synth, templates: templatesOf(synth.assembly, synth.config.stage) });
  }
});

function resources(
  scenario: Scenario,
  type: string,
): { name: string; resource: CfnResource; template: StackTemplate }[] {
  return scenario.templates.flatMap((template) =>
    Object.entries(template.resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, resource]) => ({ name: nameOf(template, id), resource, template })),
  );
}

/** Every policy statement of every template: identity policies, inline role policies and resource policies. */
function allStatements(scenario: Scenario): { where: string; kind: string; statement: Statement }[] {
  const out: { where: string; kind: string; statement: Statement }[] = [];
  const documents: Record<string, (r: CfnResource) => unknown[]> = {
    'AWS::IAM::Policy': (r) => [r.Properties?.PolicyDocument],
    'AWS::IAM::ManagedPolicy': (r) => [r.Properties?.PolicyDocument],
    'AWS::IAM::Role': (r) =>
      asList(r.Properties?.Policies as { PolicyDocument: unknown }[]).map((p) => p.PolicyDocument),
    'AWS::S3::BucketPolicy': (r) => [r.Properties?.PolicyDocument],
    'AWS::SNS::TopicPolicy': (r) => [r.Properties?.PolicyDocument],
    'AWS::KMS::Key': (r) => [r.Properties?.KeyPolicy],
  };
  for (const [kind, documentsOf] of Object.entries(documents)) {
    for (const { name, resource } of resources(scenario, kind)) {
      for (const doc of documentsOf(resource)) {
        for (const statement of asList((doc as { Statement?: Statement | Statement[] })?.Statement)) {
          out.push({ where: name, kind, statement });
        }
      }
    }
  }
  return out;
}

describe('the templates’ posture, in both serving modes', () => {
  it('GIVEN the AWS Solutions checks WHEN synthesized THEN no finding is left unacknowledged', () => {
    for (const { name, synth } of scenarios) {
      expect(validationViolations(synth.assembly), name).toEqual([]);
      const report = new AwsSolutionsChecks(synth.app).validateScope(synth.app);
      expect(
        report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
        name,
      ).toEqual([]);
    }
  });

  it('GIVEN every acknowledgement THEN it gives a specific reason, not a short or generic one, and no reason serves two rules', () => {
    for (const { name, synth } of scenarios) {
      const reasons = new Map<string, Set<string>>();
      let count = 0;
      for (const node of synth.app.node.findAll()) {
        for (const entry of node.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
            count++;
            const where = `${name}: ${node.node.path} ${id}`;
            expect(typeof reason === 'string' && reason.trim().length > 40, `${where}: "${reason}"`).toBe(
              true,
            );
            expect(reason, where).not.toMatch(
              /^(n\/?a|todo|tbd|ok|fine|suppress(ed)?|not needed|false positive)\.?$/i,
            );
            // The rule without its finding: `AwsSolutions-IAM5[Action::s3:List*]` is rule AwsSolutions-IAM5.
            const rule = id.replace(/\[.*$/, '').replace(/^.*::/, '');
            const rules = reasons.get(reason) ?? new Set<string>();
            rules.add(rule);
            reasons.set(reason, rules);
          }
        }
      }
      expect(count, name).toBeGreaterThan(10);
      const shared = [...reasons]
        .filter(([, rules]) => rules.size > 1)
        .map(([r, rules]) => `${[...rules]}: ${r}`);
      expect(shared, name).toEqual([]);
    }
  });

  it('GIVEN every bucket THEN it is TLS-only, KMS-encrypted, private and access-logged (the access-log bucket: S3-managed, unlogged)', () => {
    for (const scenario of scenarios) {
      const buckets = resources(scenario, 'AWS::S3::Bucket');
      expect(buckets.length).toBeGreaterThanOrEqual(2);
      const policies = resources(scenario, 'AWS::S3::BucketPolicy');
      for (const { name, resource, template } of buckets) {
        const p = resource.Properties ?? {};
        expect(p.PublicAccessBlockConfiguration, name).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        const id = Object.keys(template.resources).find((k) => template.resources[k] === resource)!;
        const policy = policies.find(
          (b) => JSON.stringify(b.resource.Properties?.Bucket) === JSON.stringify({ Ref: id }),
        );
        expect(policy, `${name} has a bucket policy`).toBeDefined();
        const statements = asList(
          (policy!.resource.Properties!.PolicyDocument as { Statement: Statement[] }).Statement,
        );
        expect(
          statements.some(
            (s) =>
              s.Effect === 'Deny' &&
              asList(s.Action).includes('s3:*') &&
              JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
          ),
          `${name} denies requests without TLS`,
        ).toBe(true);
        const encryption = (
          p.BucketEncryption as {
            ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: Record<string, unknown> }[];
          }
        ).ServerSideEncryptionConfiguration[0]!.ServerSideEncryptionByDefault;
        if (ACCESS_LOG_BUCKET.test(name)) {
          expect(encryption.SSEAlgorithm, name).toBe('AES256');
          expect(p.LoggingConfiguration, name).toBeUndefined();
        } else {
          expect(encryption.SSEAlgorithm, name).toBe('aws:kms');
          expect(encryption.KMSMasterKeyID, name).toBeDefined();
          expect(
            (p.LoggingConfiguration as { DestinationBucketName?: unknown })?.DestinationBucketName,
            name,
          ).toBeDefined();
        }
      }
    }
  });

  it('GIVEN every table THEN it has point-in-time recovery and a customer-managed key', () => {
    for (const scenario of scenarios) {
      const tables = resources(scenario, 'AWS::DynamoDB::Table');
      expect(tables.length).toBe(3);
      for (const { name, resource } of tables) {
        const p = resource.Properties ?? {};
        expect(
          (p.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean })
            ?.PointInTimeRecoveryEnabled,
          name,
        ).toBe(true);
        expect(p.SSESpecification, name).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
        expect((p.SSESpecification as { KMSMasterKeyId?: unknown }).KMSMasterKeyId, name).toBeDefined();
      }
    }
  });

  it('GIVEN every policy THEN nothing is allowed "*" or "<service>:*", but the account root on its own key', () => {
    for (const scenario of scenarios) {
      for (const { where, kind, statement } of allStatements(scenario)) {
        if (statement.Effect !== 'Allow') continue;
        for (const action of asList(statement.Action)) {
          const serviceWide = action === '*' || /^[a-z0-9-]+:\*$/.test(action);
          // A key policy must let the account's root hold kms:*, so that IAM policies in the account
          // govern the key; without it the key cannot be managed at all (AWS's default key policy).
          const defaultKeyPolicy =
            kind === 'AWS::KMS::Key' &&
            action === 'kms:*' &&
            JSON.stringify(statement.Principal).includes(':root');
          expect(serviceWide && !defaultKeyPolicy, `${scenario.name}: ${where} allows ${action}`).toBe(false);
        }
        expect(statement.NotAction, `${scenario.name}: ${where} uses NotAction`).toBeUndefined();
      }
    }
  });

  it('GIVEN every identity policy THEN Resource "*" carries only the listed actions, and PutMetricData only for a namespace', () => {
    for (const scenario of scenarios) {
      for (const { where, kind, statement } of allStatements(scenario)) {
        // In a key policy "*" is the key itself; bucket and topic policies name their resource.
        if (statement.Effect !== 'Allow' || !kind.startsWith('AWS::IAM::')) continue;
        if (!asList(statement.Resource).includes('*')) continue;
        for (const action of asList(statement.Action)) {
          expect(
            Object.hasOwn(STAR_RESOURCE_ACTIONS, action),
            `${scenario.name}: ${where} grants ${action} on "*", which is not on the allow-list`,
          ).toBe(true);
          if (action === 'cloudwatch:PutMetricData') {
            expect(JSON.stringify(statement.Condition), `${scenario.name}: ${where}`).toMatch(
              /cloudwatch:namespace/,
            );
          }
        }
      }
    }
  });

  it('GIVEN every key policy THEN a service principal is trusted only under a condition (source account, ARN or context)', () => {
    for (const scenario of scenarios) {
      const trusted = allStatements(scenario).filter(
        (s) =>
          s.kind === 'AWS::KMS::Key' && JSON.stringify(s.statement.Principal ?? {}).includes('"Service"'),
      );
      expect(trusted.length).toBeGreaterThanOrEqual(2);
      for (const { where, statement } of trusted) {
        expect(
          statement.Condition,
          `${scenario.name}: ${where} trusts ${JSON.stringify(statement.Principal)}`,
        ).toBeDefined();
      }
      const cloudwatch = trusted.find((s) =>
        JSON.stringify(s.statement.Principal).includes('cloudwatch.amazonaws.com'),
      )!;
      expect(Object.keys(cloudwatch.statement.Condition!).sort()).toEqual(['ArnLike', 'StringEquals']);
      expect(JSON.stringify(cloudwatch.statement.Condition)).toMatch(
        /aws:SourceAccount.*aws:SourceArn|aws:SourceArn.*aws:SourceAccount/,
      );
      expect(JSON.stringify(cloudwatch.statement.Condition)).toContain(':alarm:*');
    }
  });

  it('GIVEN every API method THEN it requires an API key or IAM', () => {
    for (const scenario of scenarios) {
      const methods = resources(scenario, 'AWS::ApiGateway::Method');
      expect(methods.length).toBeGreaterThan(0);
      for (const { name, resource } of methods) {
        const p = resource.Properties ?? {};
        expect(p.ApiKeyRequired === true || p.AuthorizationType === 'AWS_IAM', name).toBe(true);
      }
    }
  });

  it('GIVEN every function THEN it logs to a log group of its template that has a retention', () => {
    for (const scenario of scenarios) {
      const functions = resources(scenario, 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(10);
      for (const { name, resource, template } of functions) {
        const ref = (resource.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } })?.LogGroup?.Ref;
        expect(ref, `${name} names its log group`).toBeDefined();
        const group = template.resources[ref!];
        expect(group?.Type, name).toBe('AWS::Logs::LogGroup');
        expect(group!.Properties?.RetentionInDays, `${name}'s log group`).toBeGreaterThan(0);
      }
      for (const { name, resource } of resources(scenario, 'AWS::Logs::LogGroup')) {
        expect(resource.Properties?.RetentionInDays, name).toBeGreaterThan(0);
      }
    }
  });

  it('GIVEN every state machine THEN it logs (ALL, or ERROR) to a destination and traces', () => {
    for (const scenario of scenarios) {
      const machines = resources(scenario, 'AWS::StepFunctions::StateMachine');
      expect(machines.length).toBeGreaterThan(0);
      for (const { name, resource } of machines) {
        const p = resource.Properties ?? {};
        const logging = p.LoggingConfiguration as { Level?: string; Destinations?: unknown[] } | undefined;
        expect(['ALL', 'ERROR'], name).toContain(logging?.Level);
        expect(logging?.Destinations?.length, name).toBeGreaterThan(0);
        expect(p.TracingConfiguration, name).toEqual({ Enabled: true });
      }
    }
  });
});
