/**
 * The prediction log on DynamoDB, both sides in one object for tools that read and write it (the
 * CLI). Functions import the writer or the reader alone, so a bundle holds only the side it uses.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PredictionLogPort } from '../../../../core/ports.ts';
import type { PredictionRecord } from '../../../../core/prediction-log.ts';
import { DynamoPredictionLogReader } from './dynamo-prediction-log-reader.ts';
import { DynamoPredictionLogWriter } from './dynamo-prediction-log-writer.ts';

export { LOG_SHARDS, logPartition } from './prediction-log-keys.ts';

export class DynamoPredictionLog implements PredictionLogPort {
  private readonly writer: DynamoPredictionLogWriter;
  private readonly reader: DynamoPredictionLogReader;

  constructor(db: DynamoDBDocumentClient, table: string, ttlDays: number) {
    this.writer = new DynamoPredictionLogWriter(db, table, ttlDays);
    this.reader = new DynamoPredictionLogReader(db, table);
  }

  write(rows: PredictionRecord[]): Promise<void> {
    return this.writer.write(rows);
  }

  /** Reads the rows of one model logged in the hours that [from, to] touches. */
  readWindow(model: string, from: Date, to: Date): Promise<PredictionRecord[]> {
    return this.reader.readWindow(model, from, to);
  }
}
