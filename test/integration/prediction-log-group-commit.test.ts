/**
 * The prediction log's group commit, on dynalite: writes that overlap in one instance share
 * BatchWriteItem calls, each write resolves once its own rows are stored, and a write whose rows
 * alone come back unprocessed, or whose call fails, fails without taking the others with it.
 * DynamoDB's partial answers are caused at the client (dynalite never throttles); the rows that are
 * written are written to dynalite.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import {
  DynamoPredictionLogWriter,
  PredictionLogWriteError,
} from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

type Put = { PutRequest: { Item: Record<string, unknown> } };

/**
 * A client in front of dynalite that records each BatchWriteItem's request ids and, for the items
 * `holdBack` picks, answers them as unprocessed instead of writing them; `fail` makes a call throw.
 */
function recordingClient(
  aws: LocalAws,
  holdBack: (item: Record<string, unknown>) => boolean = () => false,
  fail: (requestIds: string[]) => boolean = () => false,
) {
  const calls: string[][] = [];
  const send = async (command: BatchWriteCommand): Promise<Partial<BatchWriteCommandOutput>> => {
    const [table, requests] = Object.entries(command.input.RequestItems ?? {})[0]! as [string, Put[]];
    const ids = requests.map((p) => String(p.PutRequest.Item.requestId));
    calls.push(ids);
    // Answered after a turn of the event loop, as a network call is, so later writes queue up.
    await new Promise((r) => setTimeout(r, 5));
    if (fail(ids)) throw Object.assign(new Error('connection reset'), { name: 'TimeoutError' });
    const through = requests.filter((p) => !holdBack(p.PutRequest.Item));
    const held = requests.filter((p) => holdBack(p.PutRequest.Item));
    if (through.length > 0) {
      const res = await aws.db.send(new BatchWriteCommand({ RequestItems: { [table]: through } }));
      expect(res.UnprocessedItems?.[table] ?? []).toEqual([]);
    }
    return { UnprocessedItems: held.length > 0 ? { [table]: held } : {} };
  };
  return { client: { send } as unknown as DynamoDBDocumentClient, calls };
}

function rows(requestId: string, n = 1): PredictionRecord[] {
  return Array.from({ length: n }, (_, index) => ({
    model: 'credit',
    requestId,
    index,
    at: '2026-12-01T10:00:00.000Z',
    modelVersion: 1,
    variant: 'v1',
    featureSchemaHash: 'h',
    features: { Age: 30 + index },
    score: 0.25,
    label: 'good',
    latencyMs: 1,
    client: 'default',
  }));
}

describe('the prediction log writer sharing calls between overlapping writes, on dynalite', () => {
  let aws: LocalAws;
  let table = 0;
  let name = '';

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws.stop());
  beforeEach(async () => {
    name = `predictions-${++table}`;
    await aws.createTable(name);
  });

  async function stored(): Promise<string[]> {
    const scan = await aws.db.send(new ScanCommand({ TableName: name }));
    return (scan.Items ?? []).map((i) => `${i.requestId}#${i.index}`).sort();
  }

  it('GIVEN one write and no call open WHEN it is written THEN its rows go at once in a call of their own, as in a Lambda instance', async () => {
    const { client, calls } = recordingClient(aws);
    const log = new DynamoPredictionLogWriter(client, name, 90, { maxCallsInFlight: 1 });
    await log.write(rows('alone', 3));
    expect(calls).toEqual([['alone', 'alone', 'alone']]);
    expect(await stored()).toEqual(['alone#0', 'alone#1', 'alone#2']);
  });

  it('GIVEN 60 overlapping one-row writes and one call open at a time WHEN they are written THEN they share calls of at most 25 items and every row is stored once', async () => {
    const { client, calls } = recordingClient(aws);
    const log = new DynamoPredictionLogWriter(client, name, 90, { maxCallsInFlight: 1 });
    const ids = Array.from({ length: 60 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => log.write(rows(id))));
    // The first write opens a call alone; the rest queue behind it and go 25 at a time.
    expect(calls.map((c) => c.length)).toEqual([1, 25, 25, 9]);
    expect(calls.flat().sort()).toEqual(ids);
    expect(await stored()).toEqual(ids.map((id) => `${id}#0`));
  });

  it('GIVEN a write of several rows WHEN it queues behind others THEN its rows stay in one call, never split across two', async () => {
    const { client, calls } = recordingClient(aws);
    const log = new DynamoPredictionLogWriter(client, name, 90, { maxCallsInFlight: 1 });
    const writes = [
      log.write(rows('first')),
      ...Array.from({ length: 20 }, (_, i) => log.write(rows(`s${i}`))),
    ];
    writes.push(log.write(rows('big', 10)));
    await Promise.all(writes);
    for (const call of calls) expect(call.length).toBeLessThanOrEqual(25);
    const withBig = calls.filter((c) => c.includes('big'));
    expect(withBig).toHaveLength(1);
    expect(withBig[0]!.filter((id) => id === 'big')).toHaveLength(10);
    expect((await stored()).length).toBe(31);
  });

  it('GIVEN a shared call where only one write’s rows come back unprocessed for good WHEN the budget runs out THEN that write alone fails, naming its unwritten rows, and the others are stored', async () => {
    const { client } = recordingClient(aws, (item) => item.requestId === 'unlucky');
    const log = new DynamoPredictionLogWriter(client, name, 90, {
      maxCallsInFlight: 1,
      budgetMs: 120,
      baseDelayMs: 10,
    });
    const ids = ['opener', 'a', 'unlucky', 'b', 'c'];
    const results = await Promise.allSettled(ids.map((id) => log.write(rows(id, id === 'unlucky' ? 2 : 1))));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [[ids[i], r.reason]] : []));
    expect(failed).toHaveLength(1);
    expect(failed[0]![0]).toBe('unlucky');
    expect(failed[0]![1]).toBeInstanceOf(PredictionLogWriteError);
    expect((failed[0]![1] as PredictionLogWriteError).unwritten).toBe(2);
    expect(await stored()).toEqual(['a#0', 'b#0', 'c#0', 'opener#0']);
  });

  it('GIVEN a shared call that fails WHEN writes are in it THEN each of them fails with the call’s error, and a write after it is stored', async () => {
    const { client, calls } = recordingClient(aws, undefined, (ids) => ids.includes('doomed'));
    const log = new DynamoPredictionLogWriter(client, name, 90, { maxCallsInFlight: 1 });
    const ids = ['opener', 'doomed', 'neighbour'];
    const results = await Promise.allSettled(ids.map((id) => log.write(rows(id))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(calls).toEqual([['opener'], ['doomed', 'neighbour']]);
    for (const r of results.slice(1)) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'TimeoutError' });
    }
    await log.write(rows('later'));
    expect(await stored()).toEqual(['later#0', 'opener#0']);
  });

  it('GIVEN four calls may be open WHEN six writes start together THEN the first four go at once and the last two share the next call', async () => {
    const { client, calls } = recordingClient(aws);
    const log = new DynamoPredictionLogWriter(client, name, 90, { maxCallsInFlight: 4 });
    await Promise.all(['w0', 'w1', 'w2', 'w3', 'w4', 'w5'].map((id) => log.write(rows(id))));
    expect(calls).toEqual([['w0'], ['w1'], ['w2'], ['w3'], ['w4', 'w5']]);
  });

  it('GIVEN a limit of calls that is not a whole number of at least 1 WHEN a writer is made THEN it is refused with the value named', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new DynamoPredictionLogWriter(aws.db, name, 90, { maxCallsInFlight: bad })).toThrow(
        /maxCallsInFlight must be a whole number >= 1, got/,
      );
    }
  });
});
