/** Writes the prediction log on DynamoDB (the predict function): one item per row, with a TTL. */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { predictionLogTable } from '../../../../contracts/tables.ts';
import type { PredictionLogPort } from '../../../../core/ports.ts';
import type { PredictionRecord } from '../../../../core/prediction-log.ts';
import { logPartition, shardOf } from './prediction-log-keys.ts';

/** BatchWriteItem takes at most this many items. */
const BATCH = 25;
/** Attempts at a batch whose items DynamoDB left unprocessed (throttling) before giving up. */
const ATTEMPTS = 5;

export class DynamoPredictionLogWriter implements PredictionLogPort {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ttlDays: number,
  ) {}

  async write(rows: PredictionRecord[]): Promise<void> {
    const items = rows.map((r) => ({
      pk: logPartition(r.model, r.at, shardOf(r.requestId)),
      sk: `${r.at}#${r.requestId}#${String(r.index).padStart(4, '0')}`,
      ...r,
      // The attribute the table's TTL is declared on (contracts/tables.ts), in epoch seconds.
      [predictionLogTable.ttlAttribute]: Math.floor(Date.parse(r.at) / 1000) + this.ttlDays * 86400,
    }));
    for (let i = 0; i < items.length; i += BATCH) {
      let pending = items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt === ATTEMPTS)
          throw new Error(
            `Prediction log write left ${pending.length} rows unprocessed after ${ATTEMPTS} attempts`,
          );
        if (attempt > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
      }
    }
  }
}
