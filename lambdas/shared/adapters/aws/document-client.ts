import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ClientTarget, clientConfig } from './client-config.ts';

/**
 * The DynamoDB document client. Undefined attributes are dropped, not refused. Numbers are written
 * as JavaScript prints them and read back with `Number`: a number beyond 2^53 (a client may send
 * `1e20`) is stored as the double it is and read back as the same double, where the SDK's defaults
 * would refuse to write it or read it back as a BigInt. DynamoDB itself refuses magnitudes above
 * 9.99…E+125 or below 1E-130; the predict function refuses those with a 400 before anything is
 * written (lambdas/predict/request.ts).
 */
export function makeDocumentClient(target?: ClientTarget): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig('dynamodb', target)), {
    marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
    unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
  });
}
