/**
 * Reading the model registry on DynamoDB: a version and the production alias, by key. The predict
 * function needs nothing else, so it builds this alone and its bundle leaves out the registry's
 * queries, conditional updates and audit writes ({@link DynamoModelRegistry} extends this).
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ModelRegistryPort } from '../../../../core/ports.ts';
import type { ModelVersion, ProductionAlias } from '../../../../core/registry/model.ts';

/** The partition of a model's items. */
export const registryPk = (model: string) => `MODEL#${model}`;
/** A version's sort key: zero-padded so that key order is version order. */
export const versionSk = (version: number) => `VERSION#${String(version).padStart(10, '0')}`;
/** The production alias's sort key. */
export const ALIAS_SK = 'ALIAS#production';

/**
 * An item without its key and kind attributes, and without `statusMove` (the alias move whose
 * status a version item copies; see DynamoModelRegistry.moveAlias).
 */
export function stripKeys<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, kind: _kind, statusMove: _statusMove, ...rest } = item;
  return rest as T;
}

export class DynamoRegistryReader implements Pick<ModelRegistryPort, 'getVersion' | 'getAlias'> {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly table: string,
  ) {}

  async getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: registryPk(model), sk: versionSk(version) },
        ConsistentRead: true,
      }),
    );
    return res.Item ? stripKeys<ModelVersion>(res.Item) : undefined;
  }

  async getAlias(model: string, consistent = true): Promise<ProductionAlias | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: registryPk(model), sk: ALIAS_SK },
        ConsistentRead: consistent,
      }),
    );
    return res.Item ? stripKeys<ProductionAlias>(res.Item) : undefined;
  }
}
