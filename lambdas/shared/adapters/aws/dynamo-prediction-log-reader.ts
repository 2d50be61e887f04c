/** Reads the prediction log on DynamoDB back by model and time window (the canary and the drift job). */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PredictionRecord } from '../../../../core/prediction-log.ts';
import { DEFAULT_LOG_SHARDS, logPartition } from './prediction-log-keys.ts';

export class DynamoPredictionLogReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** Partitions per model and hour the writers use (`PREDICTION_LOG_SHARDS`). */
    private readonly shards: number = DEFAULT_LOG_SHARDS,
  ) {}

  /**
   * The rows of one model logged in the hours that [from, to] touches, one query page at a time:
   * the drift job counts each page and lets it go, so a busy window never sits in memory whole.
   */
  async *pages(model: string, from: Date, to: Date): AsyncGenerator<PredictionRecord[]> {
    const hour = 3600_000;
    for (let t = Math.floor(from.getTime() / hour) * hour; t <= to.getTime(); t += hour) {
      const at = new Date(t).toISOString();
      for (let shard = 0; shard < this.shards; shard++) {
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
          if (res.Items && res.Items.length > 0) yield res.Items as PredictionRecord[];
          start = res.LastEvaluatedKey;
        } while (start);
      }
    }
  }

  /** Reads the rows of one model logged in the hours that [from, to] touches. */
  async readWindow(model: string, from: Date, to: Date): Promise<PredictionRecord[]> {
    const out: PredictionRecord[] = [];
    for await (const page of this.pages(model, from, to)) for (const row of page) out.push(row);
    return out;
  }
}
