import { S3Client } from '@aws-sdk/client-s3';
import { type ClientTarget, clientConfig } from './client-config.ts';

export function makeS3Client(target?: ClientTarget): S3Client {
  return new S3Client(clientConfig('s3', target));
}
