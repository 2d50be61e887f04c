/**
 * The AWS SDK clients, built one way for AWS and for the twin (see `client-config.ts`): this module
 * gathers every factory for the twin, the CLI and the tests.
 *
 * Functions import the factory of each client they build from its own module instead
 * (`s3-client.ts`, `document-client.ts`, ...): `@aws-sdk/lib-dynamodb` does not declare itself free
 * of side effects, so a bundle that imports it keeps the DynamoDB client even when nothing calls it
 * (measured: 54 KB in a function that only uses S3).
 */
export { type ClientTarget, clientConfig, httpTimeouts, type ServiceName } from './client-config.ts';
export { makeDocumentClient } from './document-client.ts';
export { makeS3Client } from './s3-client.ts';
export { makeSageMakerClient } from './sagemaker-client.ts';
export { makeSageMakerRuntimeClient } from './sagemaker-runtime-client.ts';
