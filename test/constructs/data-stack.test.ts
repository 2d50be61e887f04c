import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { lakeZones } from '../../contracts/lake.ts';
import { buildConfig, loadModels } from '../../lib/config.ts';
import { DataLake } from '../../lib/constructs/data-lake.ts';
import { OperatorAlerts } from '../../lib/constructs/operator-alerts.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { DataStack } from '../../lib/stacks/data-stack.ts';
import { type SynthResult, synthPlatform } from './fixture.ts';

let synth: SynthResult;
let template: Template;
let keyId: string;

beforeAll(() => {
  synth = synthPlatform();
  template = Template.fromStack(synth.stacks.data);
  keyId = synth.stacks.data.getLogicalId(synth.stacks.data.key.node.defaultChild as kms.CfnKey);
});

function lakeBucket(): Record<string, unknown> {
  const buckets = template.findResources('AWS::S3::Bucket', {
    Properties: { VersioningConfiguration: { Status: 'Enabled' } },
  });
  expect(Object.keys(buckets)).toHaveLength(1);
  return Object.values(buckets)[0] as Record<string, unknown>;
}

describe('DataStack', () => {
  it('GIVEN the test config WHEN synthesized THEN the stack is Mlops-test-Data and environment-agnostic', () => {
    expect(synth.stacks.data.stackName).toBe('Mlops-test-Data');
    const artifact = synth.assembly.getStackByName('Mlops-test-Data');
    expect(artifact.environment.account).toBe('unknown-account');
    expect(artifact.environment.region).toBe('unknown-region');
  });

  it('GIVEN the platform key WHEN synthesized THEN it rotates and lets CloudWatch Logs use it only for log groups', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('GIVEN the lake WHEN synthesized THEN it is KMS-encrypted with the platform key, versioned and private', () => {
    const bucket = lakeBucket();
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('GIVEN the lake WHEN synthesized THEN its access logs go to a separate TLS-only bucket', () => {
    const bucket = lakeBucket();
    const logging = (
      bucket.Properties as { LoggingConfiguration: { DestinationBucketName: { Ref: string } } }
    ).LoggingConfiguration;
    const logBucketId = logging.DestinationBucketName.Ref;
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    });
    expect(template.toJSON().Resources[logBucketId].Type).toBe('AWS::S3::Bucket');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('GIVEN the lake WHEN synthesized THEN its bucket policy denies every request without TLS', () => {
    const bucketId = Object.keys(
      template.findResources('AWS::S3::Bucket', {
        Properties: { VersioningConfiguration: { Status: 'Enabled' } },
      }),
    )[0];
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('GIVEN the lake WHEN synthesized THEN old versions and reports expire and incomplete uploads are aborted', () => {
    expect(lakeBucket().Properties).toMatchObject({
      LifecycleConfiguration: {
        Rules: expect.arrayContaining([
          expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
          expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
          expect.objectContaining({ Prefix: 'reports/', ExpirationInDays: 90, Status: 'Enabled' }),
        ]),
      },
    });
  });

  it('GIVEN the zone constants WHEN read THEN they are the documented key prefixes', () => {
    expect(Object.values(lakeZones)).toEqual([
      'raw/',
      'quarantine/',
      'curated/',
      'golden/',
      'artifacts/',
      'baselines/',
      'reports/',
      'scores/',
    ]);
    expect(DataLake.ZONES.curated).toBe('curated/');
  });

  it('GIVEN the registry WHEN synthesized THEN it is pk/sk, on demand, with PITR and the platform key', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
      TimeToLiveSpecification: Match.absent(),
    });
  });

  it('GIVEN the prediction log WHEN synthesized THEN rows expire through the expiresAt TTL, with PITR and KMS', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
  });

  it('GIVEN stage test WHEN synthesized THEN stateful resources are destroyed with the stack', () => {
    for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Delete');
      }
    }
  });

  it('GIVEN stage prod WHEN synthesized THEN the lake, the tables and the key are retained', () => {
    const app = new App();
    const stack = new DataStack(app, 'Mlops-prod-Data', {
      config: buildConfig({ stage: 'prod' }, loadModels(MODELS_DIR)),
    });
    const prod = Template.fromStack(stack);
    for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::KMS::Key']) {
      const resources = Object.values(prod.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.DeletionPolicy).toBe('Retain');
    }
  });

  it('GIVEN the operator topic WHEN synthesized THEN it is KMS-encrypted, TLS-only and CloudWatch may use its key', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('GIVEN no operatorEmail WHEN synthesized THEN there is no subscription, and GIVEN one THEN it is subscribed', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const stack = new Stack(new App(), 'Alerts');
    new OperatorAlerts(stack, 'Alerts', { email: 'ops@example.com' });
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('GIVEN the stack WHEN synthesized THEN it outputs the lake, registry, prediction log and topic', () => {
    for (const id of ['LakeBucketName', 'RegistryTableName', 'PredictionLogTableName', 'OperatorTopicArn']) {
      template.hasOutput(id, { Value: Match.anyValue() });
    }
  });

  it('fails when DataLake noncurrentVersionExpirationDays is not a positive whole number, naming the prop', () => {
    const stack = new Stack(new App(), 'Bad');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
    expect(
      () => new DataLake(stack, 'Lake', { encryptionKey: key, noncurrentVersionExpirationDays: 0 }),
    ).toThrow(/noncurrentVersionExpirationDays/);
  });

  it('fails when DataLake reportRetentionDays is not a positive whole number, naming the prop', () => {
    const stack = new Stack(new App(), 'BadReports');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
    expect(() => new DataLake(stack, 'Lake', { encryptionKey: key, reportRetentionDays: 1.5 })).toThrow(
      /DataLake reportRetentionDays: .* got 1.5/,
    );
  });

  it('fails when OperatorAlerts email is not an e-mail address, naming the prop', () => {
    const stack = new Stack(new App(), 'BadAlerts');
    expect(() => new OperatorAlerts(stack, 'Alerts', { email: 'not-an-address' })).toThrow(
      /email: "not-an-address"/,
    );
  });
});
