/** dynalite and s3rver on loopback for integration tests, with the platform's table key schema. */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { TwinInfo } from '../../contracts/twin-api.ts';
import {
  type ClientTarget,
  clientConfig,
  makeDocumentClient,
  makeS3Client,
} from '../../lambdas/shared/adapters/aws/clients.ts';
import { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { startLocalS3 } from '../../local/s3-server.ts';

export interface LocalAws {
  dynamoEndpoint: string;
  s3Endpoint: string;
  db: DynamoDBDocumentClient;
  s3: S3Client;
  createTable(name: string): Promise<void>;
  createBucket(name: string): Promise<S3ObjectStore>;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startLocalAws(): Promise<LocalAws> {
  const dyn = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  const dynamoEndpoint = `http://127.0.0.1:${(dyn.address() as AddressInfo).port}`;
  const localS3 = await startLocalS3();
  const s3Endpoint = localS3.endpoint;
  const target: ClientTarget = {
    region: 'us-east-1',
    credentials,
    endpoints: { dynamodb: dynamoEndpoint, s3: s3Endpoint },
  };
  const raw = new DynamoDBClient(clientConfig('dynamodb', target));
  const db = makeDocumentClient(target);
  const s3 = makeS3Client(target);
  return {
    dynamoEndpoint,
    s3Endpoint,
    db,
    s3,
    async createTable(name) {
      await raw.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    },
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      return new S3ObjectStore(s3, name);
    },
    async stop() {
      await new Promise<void>((r) => dyn.close(() => r()));
      await localS3.close();
    },
  };
}

/** Points the handlers' AWS SDK clients at the local services. */
export function useLocalEndpoints(aws: LocalAws, env: Record<string, string>): void {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: aws.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoEndpoint,
    ...env,
  });
}

/**
 * What a stand-in for the twin's `GET /_twin/info` answers when its services are these local ones:
 * the API at `apiUrl`, the registry table `registry`, the log table `log` and the lake bucket `lake`
 * (a SageMaker endpoint nothing listens on).
 */
export function standInTwinInfo(aws: LocalAws, apiUrl: string): TwinInfo {
  return {
    apiUrl,
    region: 'us-east-1',
    endpoints: { s3: aws.s3Endpoint, dynamodb: aws.dynamoEndpoint, sagemaker: 'http://127.0.0.1:9' },
    outputs: {
      [stackOutputs.registryTableName]: 'registry',
      [stackOutputs.predictionLogTableName]: 'log',
      [stackOutputs.lakeBucketName]: 'lake',
    },
  };
}
