/**
 * AWS SDK clients. `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_DYNAMODB` point them at another
 * endpoint (the local twin's s3rver and dynalite), and `AWS_ENDPOINT_URL_SAGEMAKER` /
 * `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` at the twin's local endpoint service; S3 then needs path-style addressing and
 * checksums only when required, or streamed bodies are stored with their chunk framing.
 *
 * Every client gives up on a connection that does not open within 5 s or a socket idle for 30 s,
 * so a stalled call is retried by the SDK instead of holding the function until its own timeout.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const httpTimeouts = { connectionTimeout: 5_000, requestTimeout: 30_000 } as const;

export function makeS3Client(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3;
  return new S3Client({
    requestHandler: httpTimeouts,
    ...(endpoint
      ? {
          endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
}

export function makeDocumentClient(): DynamoDBDocumentClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ requestHandler: httpTimeouts, ...(endpoint ? { endpoint } : {}) }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
}

export function makeSageMakerClient(): SageMakerClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SAGEMAKER;
  return new SageMakerClient({ requestHandler: httpTimeouts, ...(endpoint ? { endpoint } : {}) });
}

export function makeSageMakerRuntimeClient(): SageMakerRuntimeClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME;
  return new SageMakerRuntimeClient({ requestHandler: httpTimeouts, ...(endpoint ? { endpoint } : {}) });
}
