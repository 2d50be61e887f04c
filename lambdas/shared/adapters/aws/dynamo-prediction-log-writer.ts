/**
 * Writes the prediction log on DynamoDB (the predict and shadow functions): one item per row, with a
 * TTL, in BatchWriteItem calls of at most 25 items. Items DynamoDB leaves unprocessed (it throttles a
 * batch item by item) are sent again after an exponential backoff with full jitter, for as long as a
 * time budget allows; rows still unwritten then fail the write with a {@link PredictionLogWriteError}
 * that says how many, so the caller can refuse to serve what it could not log.
 *
 * Writes that overlap in one instance share calls (group commit): at most `maxCallsInFlight` calls
 * are open at a time (one by default), and the rows of writes that arrive while they are open go
 * together in the next call, up to 25 items. A write still resolves only once its own rows are
 * stored, and fails alone when only its rows come back unprocessed. A Lambda instance serves one
 * request at a time, so there a request's rows go in calls of their own, at once, as before; an
 * instance that serves many requests at once (the twin runs one per function) makes one call where
 * it would make one per request, which is where a busy instance spends its time (the SDK's signing,
 * middleware and serialization cost about a millisecond of CPU a call on a small machine, whether
 * it carries one item or 25).
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
  /**
   * BatchWriteItem calls open at once; rows that arrive while this many are open wait to share the
   * next call. One gives the fullest calls: a twin instance under load made calls of about 10 items
   * with one open, and of about 4.5 with four.
   * @default 1
   */
  maxCallsInFlight?: number;
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

type PutRequest = { PutRequest: { Item: Record<string, unknown> } };

/** One write's chunk waiting for a call: its put requests and what to tell the write. */
interface Queued {
  readonly puts: PutRequest[];
  /** Resolves with the chunk's own unprocessed put requests (none when all were stored). */
  resolve(unprocessed: PutRequest[]): void;
  reject(err: unknown): void;
}

/** An item's key, which tells whose rows came back unprocessed. */
const keyOf = (item: Record<string, unknown>) => `${String(item.pk)}\u0000${String(item.sk)}`;

export class DynamoPredictionLogWriter implements PredictionLogPort {
  private readonly budgetMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly shards: number;
  private readonly maxCallsInFlight: number;
  /** Chunks waiting for a call, in arrival order. */
  private readonly queue: Queued[] = [];
  private callsInFlight = 0;

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
    this.maxCallsInFlight = retry.maxCallsInFlight ?? 1;
    if (!Number.isInteger(this.maxCallsInFlight) || this.maxCallsInFlight < 1) {
      throw new RangeError(`maxCallsInFlight must be a whole number >= 1, got ${this.maxCallsInFlight}`);
    }
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
      let pending: PutRequest[] = items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } }));
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
        pending = await this.send(pending);
      }
    }
  }

  /** Queues a chunk for the next call with room for it; resolves with its unprocessed put requests. */
  private send(puts: PutRequest[]): Promise<PutRequest[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ puts, resolve, reject });
      this.dispatch();
    });
  }

  /** Opens calls while fewer than the limit are open, each with as many queued chunks as fit. */
  private dispatch(): void {
    while (this.callsInFlight < this.maxCallsInFlight && this.queue.length > 0) {
      const batch: Queued[] = [this.queue.shift()!];
      let size = batch[0]!.puts.length;
      while (this.queue.length > 0 && size + this.queue[0]!.puts.length <= BATCH) {
        const next = this.queue.shift()!;
        batch.push(next);
        size += next.puts.length;
      }
      this.callsInFlight++;
      void this.call(batch).finally(() => {
        this.callsInFlight--;
        this.dispatch();
      });
    }
  }

  /** One BatchWriteItem for the chunks of a batch; each chunk hears of its own unprocessed items. */
  private async call(batch: Queued[]): Promise<void> {
    const puts = batch.length === 1 ? batch[0]!.puts : batch.flatMap((q) => q.puts);
    let unprocessed: PutRequest[];
    try {
      const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: puts } }));
      unprocessed = (res.UnprocessedItems?.[this.table] ?? []) as PutRequest[];
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    if (unprocessed.length === 0) {
      for (const q of batch) q.resolve([]);
      return;
    }
    if (batch.length === 1) {
      batch[0]!.resolve(unprocessed);
      return;
    }
    const back = new Set(unprocessed.map((p) => keyOf(p.PutRequest.Item)));
    for (const q of batch) q.resolve(q.puts.filter((p) => back.has(keyOf(p.PutRequest.Item))));
  }
}
