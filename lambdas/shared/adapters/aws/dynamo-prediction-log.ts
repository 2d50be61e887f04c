/**
 * The prediction log on DynamoDB: partitions of model, hour and shard (bounded, and readable back by
 * hour), and a TTL on every row.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PredictionLogPort } from '../../../../core/ports.ts';
import type { PredictionRecord } from '../../../../core/prediction-log.ts';

/** Writes spread over this many partitions per model and hour. */
export const LOG_SHARDS = 4;

/** `model#yyyy-mm-ddThh#shard`: bounded partitions that a drift job can read back by hour. */
export function logPartition(model: string, at: string, shard: number): string {
  return `${model}#${at.slice(0, 13)}#${shard}`;
}

function shardOf(requestId: string): number {
  let h = 0;
  for (let i = 0; i < requestId.length; i++) h = (h * 31 + requestId.charCodeAt(i)) >>> 0;
  return h % LOG_SHARDS;
}

export class DynamoPredictionLog implements PredictionLogPort {
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
      expiresAt: Math.floor(Date.parse(r.at) / 1000) + this.ttlDays * 86400,
    }));
    for (let i = 0; i < items.length; i += 25) {
      let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt === 5)
          throw new Error(`Prediction log write left ${pending.length} rows unprocessed after 5 attempts`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
      }
    }
  }

  /** Reads the rows of one model logged in the hours that [from, to] touches. */
  async readWindow(model: string, from: Date, to: Date): Promise<PredictionRecord[]> {
    const out: PredictionRecord[] = [];
    const hour = 3600_000;
    for (let t = Math.floor(from.getTime() / hour) * hour; t <= to.getTime(); t += hour) {
      const at = new Date(t).toISOString();
      for (let shard = 0; shard < LOG_SHARDS; shard++) {
        let start: Record<string, unknown> | undefined;
        do {
          const res = await this.db.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              ExpressionAttributeValues: {
                ':pk': logPartition(model, at, shard),
                ':from': from.toISOString(),
                ':to': `${to.toISOString()}~`,
              },
              ExclusiveStartKey: start,
            }),
          );
          for (const item of res.Items ?? []) out.push(item as PredictionRecord);
          start = res.LastEvaluatedKey;
        } while (start);
      }
    }
    return out;
  }
}
