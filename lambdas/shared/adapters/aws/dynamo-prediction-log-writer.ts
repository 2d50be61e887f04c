/**
 * Writes the prediction log on DynamoDB (the predict and shadow functions): one item per row, with a
 * TTL, in one BatchWriteItem per 25 rows. Items DynamoDB leaves unprocessed (it throttles a batch
 * item by item) are sent again after an exponential backoff with full jitter, for as long as a time
 * budget allows; rows still unwritten then fail the write with a {@link PredictionLogWriteError}
 * that says how many, so the caller can refuse to serve what it could not log.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { predictionLogTable } from '../../../../contracts/tables.ts';
import type { PredictionLogPort } from '../../../../core/ports.ts';
import type { PredictionRecord } from '../../../../core/prediction-log.ts';
import { DEFAULT_LOG_SHARDS, logPartition, shardOf } from './prediction-log-keys.ts';

/** BatchWriteItem takes at most this many items. */
const BATCH = 25;

/** How the writer waits between attempts at unprocessed items. */
export interface LogWriteRetry {
  /**
   * Time from the first attempt after which no further attempt starts, in ms: a request's answer
   * waits at most about this long for its rows.
   * @default 1500
   */
  budgetMs?: number;
  /**
   * The first retry's backoff ceiling, in ms; each retry doubles it (up to `maxDelayMs`) and waits a
   * uniformly random time below it (full jitter), so throttled writers spread out.
   * @default 25
   */
  baseDelayMs?: number;
  /** @default 400 */
  maxDelayMs?: number;
  /** A number in [0, 1); Math.random by default. */
  random?: () => number;
  /** Waits; setTimeout by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds on a monotonic clock; performance.now by default. */
  now?: () => number;
  /** Partitions per model and hour (`PREDICTION_LOG_SHARDS`). @default DEFAULT_LOG_SHARDS */
  shards?: number;
}

/** Rows the log could not take within the writer's budget. */
export class PredictionLogWriteError extends Error {
  override readonly name = 'PredictionLogWriteError';
  constructor(
    /** Rows that were not written. */
    readonly unwritten: number,
    /** BatchWriteItem calls made. */
    readonly attempts: number,
    elapsedMs: number,
  ) {
    super(
      `Prediction log write left ${unwritten} rows unprocessed after ${attempts} attempts in ${Math.round(elapsedMs)} ms`,
    );
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoPredictionLogWriter implements PredictionLogPort {
  private readonly budgetMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly shards: number;

  constructor(
    private readonly db: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly table: string,
    private readonly ttlDays: number,
    retry: LogWriteRetry = {},
  ) {
    this.budgetMs = retry.budgetMs ?? 1500;
    this.baseDelayMs = retry.baseDelayMs ?? 25;
    this.maxDelayMs = retry.maxDelayMs ?? 400;
    this.random = retry.random ?? Math.random;
    this.sleep = retry.sleep ?? defaultSleep;
    this.now = retry.now ?? (() => performance.now());
    this.shards = retry.shards ?? DEFAULT_LOG_SHARDS;
  }

  async write(rows: PredictionRecord[]): Promise<void> {
    const items = rows.map((r) => ({
      pk: logPartition(r.model, r.at, shardOf(r.requestId, this.shards)),
      sk: `${r.at}#${r.requestId}#${String(r.index).padStart(4, '0')}`,
      ...r,
      // The attribute the table's TTL is declared on (contracts/tables.ts), in epoch seconds.
      [predictionLogTable.ttlAttribute]: Math.floor(Date.parse(r.at) / 1000) + this.ttlDays * 86400,
    }));
    const started = this.now();
    let attempts = 0;
    for (let i = 0; i < items.length; i += BATCH) {
      let pending = items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } }));
      for (let retry = 0; pending.length > 0; retry++) {
        if (retry > 0) {
          const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
          const delay = this.random() * ceiling;
          const elapsed = this.now() - started;
          if (elapsed + delay > this.budgetMs) {
            // This chunk's unprocessed items, and the chunks not yet sent.
            const unwritten = pending.length + Math.max(0, items.length - (i + BATCH));
            throw new PredictionLogWriteError(unwritten, attempts, elapsed);
          }
          await this.sleep(delay);
        }
        attempts++;
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
      }
    }
  }
}
