/**
 * Distributed Map states in the twin. aws-local-stepfunctions runs inline Map states only, so a Map
 * whose `ItemProcessor.ProcessorConfig.Mode` is `DISTRIBUTED` is replaced, before the definition
 * reaches the library, by a Task state the twin runs here (it keeps the Map's InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry, Catch and transition, which the library applies as
 * for any Task). Everything the run does comes from the state's ASL:
 *   - items from `ItemReader` over the twin's S3 (`s3:getObject` of a CSV, with `CSVHeaderLocation`
 *     `FIRST_ROW` or `GIVEN` and `CSVHeaders`, or of a JSON array; `s3:listObjectsV2` of a prefix),
 *     capped by `ReaderConfig.MaxItems`/`MaxItemsPath`; without an ItemReader, from `ItemsPath`;
 *   - `ItemSelector` (or the legacy `Parameters`) per item, with `$$.Map.Item.Value` and `Index`;
 *   - `ItemBatcher` (`MaxItemsPerBatch`, `MaxInputBytesPerBatch`, their `Path` forms, and
 *     `BatchInput`): each child then receives `{ "BatchInput": ..., "Items": [...] }`;
 *   - children run the `ItemProcessor`'s states with the twin's task runners, at most
 *     `MaxConcurrency` at a time (0 or unset: all at once);
 *   - `ToleratedFailureCount`/`Percentage` (and `Path` forms): failed items beyond them fail the state
 *     with `States.ExceedToleratedFailureThreshold`, and no further child starts once they are passed;
 *   - `ResultWriter` (`s3:putObject` with `Bucket` and `Prefix`) writes
 *     `<Prefix>/<map run id>/manifest.json`, `SUCCEEDED_0.json` and `FAILED_0.json` (the child
 *     executions as Step Functions describes them) and the state's result is then
 *     `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }` instead of the results array.
 * Without a ResultWriter the result is one entry per child in item order: its output, or, for a
 * tolerated failure, `{ Error, Cause }`.
 *
 * Payload templates and paths (`ItemSelector`, `BatchInput`, the readers' and writer's `Parameters`,
 * every `...Path`) are evaluated by aws-local-stepfunctions itself, through a one-state Pass machine,
 * so `.$` fields, intrinsic functions and the context object behave as in the rest of the twin.
 * A definition whose distributed Map is misconfigured (an ItemReader resource or reader config the
 * twin does not know, a batcher without a limit, ...) is refused when the twin loads it, with the
 * state machine, the state and the field named, as CreateStateMachine would refuse it.
 */
import './polyfill.ts';
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { parse } from 'csv-parse/sync';
import type { ExecutionRecord, MapRunTiming } from '../contracts/twin-api.ts';

/** The resource of the Task state that stands for a distributed Map. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::twin:distributedMap';

const S3_GET_OBJECT = 'arn:aws:states:::s3:getObject';
const S3_LIST_OBJECTS = 'arn:aws:states:::s3:listObjectsV2';
const S3_PUT_OBJECT = 'arn:aws:states:::s3:putObject';
const CSV_DELIMITERS: Record<string, string> = {
  COMMA: ',',
  PIPE: '|',
  SEMICOLON: ';',
  SPACE: ' ',
  TAB: '\t',
};
/** Step Functions' limit on a child's input, the batcher's default byte limit. */
const MAX_PAYLOAD_BYTES = 256 * 1024;

/** An object as `s3:listObjectsV2` gives it to a distributed Map. */
export interface ListedObject {
  Key: string;
  Size: number;
  Etag: string;
  /** Seconds since the epoch. */
  LastModified: number;
  StorageClass: string;
}

/** The S3 a distributed Map reads its items from and writes its results to. */
export interface MapStorage {
  getText(bucket: string, key: string): Promise<string>;
  list(bucket: string, prefix: string): Promise<ListedObject[]>;
  put(bucket: string, key: string, body: string): Promise<void>;
}

/** {@link MapStorage} on an S3 client (the twin's s3rver). */
export function s3MapStorage(client: S3Client): MapStorage {
  return {
    async getText(bucket, key) {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await res.Body?.transformToString('utf8')) ?? '';
    },
    async list(bucket, prefix) {
      const out: ListedObject[] = [];
      let token: string | undefined;
      do {
        const res = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of res.Contents ?? []) {
          out.push({
            Key: o.Key ?? '',
            Size: o.Size ?? 0,
            Etag: o.ETag ?? '',
            LastModified: Math.floor((o.LastModified?.getTime() ?? 0) / 1000),
            StorageClass: o.StorageClass ?? 'STANDARD',
          });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async put(bucket, key, body) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
    },
  };
}

type Template = Record<string, unknown>;

/** The fields of a distributed Map state the twin reads. */
export interface DistributedMapState {
  Type: 'Map';
  Label?: string;
  ItemProcessor: {
    ProcessorConfig?: { Mode?: string; ExecutionType?: string };
    StartAt: string;
    States: Record<string, unknown>;
  };
  ItemsPath?: string;
  ItemReader?: {
    Resource?: string;
    Parameters?: Template;
    ReaderConfig?: {
      InputType?: string;
      CSVHeaderLocation?: string;
      CSVHeaders?: unknown;
      CSVDelimiter?: string;
      MaxItems?: number;
      MaxItemsPath?: string;
    };
  };
  ItemSelector?: Template;
  Parameters?: Template;
  ItemBatcher?: {
    MaxItemsPerBatch?: number;
    MaxItemsPerBatchPath?: string;
    MaxInputBytesPerBatch?: number;
    MaxInputBytesPerBatchPath?: string;
    BatchInput?: Template;
  };
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
  ToleratedFailureCount?: number;
  ToleratedFailureCountPath?: string;
  ToleratedFailurePercentage?: number;
  ToleratedFailurePercentagePath?: string;
  ResultWriter?: { Resource?: string; Parameters?: Template };
}

/** Whether a state is a Map run in distributed mode. */
export function isDistributedMap(state: unknown): state is DistributedMapState {
  const s = state as { Type?: string; ItemProcessor?: { ProcessorConfig?: { Mode?: string } } };
  return s?.Type === 'Map' && s.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/** The fields a Map shares with a Task state, kept on the Task that replaces it. */
const KEPT_FIELDS = [
  'Comment',
  'InputPath',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'Retry',
  'Catch',
  'Next',
  'End',
] as const;

/**
 * The states with every distributed Map (also inside Parallel branches and inline Maps) replaced by
 * a Task on {@link DISTRIBUTED_MAP_RESOURCE}; the Maps by state name.
 */
export function replaceDistributedMaps(states: Record<string, unknown>): {
  states: Record<string, unknown>;
  maps: Map<string, DistributedMapState>;
} {
  const maps = new Map<string, DistributedMapState>();
  const walk = (input: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, state] of Object.entries(input)) {
      if (isDistributedMap(state)) {
        maps.set(name, state);
        const task: Record<string, unknown> = { Type: 'Task', Resource: DISTRIBUTED_MAP_RESOURCE };
        for (const field of KEPT_FIELDS)
          if (state[field as keyof DistributedMapState] !== undefined)
            task[field] = state[field as keyof DistributedMapState];
        out[name] = task;
        continue;
      }
      const s = { ...(state as Record<string, unknown>) };
      const nested = (key: 'Iterator' | 'ItemProcessor') => {
        const body = s[key] as { States?: Record<string, unknown> } | undefined;
        if (body?.States) s[key] = { ...body, States: walk(body.States) };
      };
      nested('Iterator');
      nested('ItemProcessor');
      if (Array.isArray(s.Branches)) {
        s.Branches = (s.Branches as { States?: Record<string, unknown> }[]).map((b) => ({
          ...b,
          States: walk(b.States ?? {}),
        }));
      }
      out[name] = s;
    }
    return out;
  };
  return { states: walk(states), maps };
}

/** A distributed Map the twin cannot run as configured: names the state machine, the state and the field. */
export class DistributedMapDefinitionError extends Error {
  override name = 'DistributedMapDefinitionError';
}

/**
 * Checks every distributed Map of a definition (those inside their processors included) for what
 * can be checked before it runs; throws {@link DistributedMapDefinitionError} on the first problem.
 */
export function checkDistributedMaps(machine: string, states: Record<string, unknown>): void {
  const { maps } = replaceDistributedMaps(states);
  for (const [name, state] of maps) {
    const fail = (field: string, problem: string): never => {
      throw new DistributedMapDefinitionError(
        `State machine ${machine}, distributed Map state "${name}": ${field} ${problem}`,
      );
    };
    const nonNegativeInt = (field: string, v: unknown) => {
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0))
        fail(field, `must be a whole number ≥ 0 (got ${JSON.stringify(v)})`);
    };
    if (typeof state.ItemProcessor.StartAt !== 'string' || !state.ItemProcessor.States)
      fail('ItemProcessor', 'needs StartAt and States');
    const reader = state.ItemReader;
    if (reader) {
      const resource = reader.Resource;
      const config = reader.ReaderConfig ?? {};
      const params = reader.Parameters ?? {};
      const has = (k: string) => params[k] !== undefined || params[`${k}.$`] !== undefined;
      if (resource !== S3_GET_OBJECT && resource !== S3_LIST_OBJECTS)
        fail(
          'ItemReader.Resource',
          `must be ${S3_GET_OBJECT} or ${S3_LIST_OBJECTS} (got ${JSON.stringify(resource)})`,
        );
      if (!has('Bucket')) fail('ItemReader.Parameters.Bucket', 'is missing');
      if (resource === S3_GET_OBJECT) {
        if (!has('Key')) fail('ItemReader.Parameters.Key', 'is missing');
        if (config.InputType !== 'CSV' && config.InputType !== 'JSON')
          fail(
            'ItemReader.ReaderConfig.InputType',
            `must be CSV or JSON for ${S3_GET_OBJECT} (got ${JSON.stringify(config.InputType)})`,
          );
        if (config.InputType === 'CSV') {
          if (config.CSVHeaderLocation !== 'FIRST_ROW' && config.CSVHeaderLocation !== 'GIVEN')
            fail(
              'ItemReader.ReaderConfig.CSVHeaderLocation',
              `must be FIRST_ROW or GIVEN (got ${JSON.stringify(config.CSVHeaderLocation)})`,
            );
          const headers = config.CSVHeaders;
          if (
            config.CSVHeaderLocation === 'GIVEN' &&
            !(Array.isArray(headers) && headers.length > 0 && headers.every((h) => typeof h === 'string'))
          )
            fail(
              'ItemReader.ReaderConfig.CSVHeaders',
              'must list the column names when CSVHeaderLocation is GIVEN',
            );
          if (config.CSVDelimiter !== undefined && !(config.CSVDelimiter in CSV_DELIMITERS))
            fail(
              'ItemReader.ReaderConfig.CSVDelimiter',
              `must be one of ${Object.keys(CSV_DELIMITERS).join(', ')} (got ${JSON.stringify(config.CSVDelimiter)})`,
            );
        }
      }
      if (config.MaxItems !== undefined && !(Number.isInteger(config.MaxItems) && config.MaxItems > 0))
        fail(
          'ItemReader.ReaderConfig.MaxItems',
          `must be a whole number ≥ 1 (got ${JSON.stringify(config.MaxItems)})`,
        );
      if (state.ItemsPath !== undefined) fail('ItemsPath', 'cannot be used with an ItemReader');
    }
    const batcher = state.ItemBatcher;
    if (batcher) {
      const limits = [
        'MaxItemsPerBatch',
        'MaxItemsPerBatchPath',
        'MaxInputBytesPerBatch',
        'MaxInputBytesPerBatchPath',
      ];
      if (!limits.some((k) => batcher[k as keyof typeof batcher] !== undefined))
        fail('ItemBatcher', `needs one of ${limits.join(', ')}`);
      for (const k of ['MaxItemsPerBatch', 'MaxInputBytesPerBatch'] as const) {
        const v = batcher[k];
        if (v !== undefined && !(Number.isInteger(v) && v > 0))
          fail(`ItemBatcher.${k}`, `must be a whole number ≥ 1 (got ${JSON.stringify(v)})`);
      }
    }
    nonNegativeInt('MaxConcurrency', state.MaxConcurrency);
    nonNegativeInt('ToleratedFailureCount', state.ToleratedFailureCount);
    const pct = state.ToleratedFailurePercentage;
    if (pct !== undefined && !(typeof pct === 'number' && pct >= 0 && pct <= 100))
      fail('ToleratedFailurePercentage', `must be a number from 0 to 100 (got ${JSON.stringify(pct)})`);
    const writer = state.ResultWriter;
    if (writer) {
      if (writer.Resource !== S3_PUT_OBJECT)
        fail('ResultWriter.Resource', `must be ${S3_PUT_OBJECT} (got ${JSON.stringify(writer.Resource)})`);
      const p = writer.Parameters ?? {};
      if (p.Bucket === undefined && p['Bucket.$'] === undefined)
        fail('ResultWriter.Parameters.Bucket', 'is missing');
    }
    checkDistributedMaps(machine, state.ItemProcessor.States);
  }
}

/** Evaluates payload templates with aws-local-stepfunctions' own Pass state; machines are kept per template. */
const evaluators = new Map<string, StateMachine>();

async function evaluate(
  template: Template,
  input: unknown,
  context: Record<string, unknown> = {},
): Promise<unknown> {
  const key = JSON.stringify(template);
  let sm = evaluators.get(key);
  if (!sm) {
    sm = new StateMachine(
      {
        StartAt: 'Evaluate',
        States: { Evaluate: { Type: 'Pass', Parameters: template, End: true } },
      } as never,
      { validationOptions: { checkPaths: true, checkArn: true } },
    );
    evaluators.set(key, sm);
  }
  return sm.run(input as never, { context } as never).result;
}

async function evaluatePath(path: string, input: unknown): Promise<unknown> {
  return ((await evaluate({ 'value.$': path }, input)) as { value: unknown }).value;
}

/** An error a Catch or Retry of the Map state can match by name. */
function statesError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** What the run of one distributed Map needs from the twin's Step Functions. */
export interface DistributedMapRun {
  readonly machineArn: string;
  readonly stateName: string;
  readonly storage: MapStorage | undefined;
  /** Runs the ItemProcessor's states on one input as a child execution with the given ARN. */
  runChild(executionArn: string, input: unknown): Promise<ExecutionRecord>;
}

/** The outcome of one distributed Map: its result, and its children summed up for the parent's record. */
export interface DistributedMapOutcome {
  readonly result: unknown;
  /** `<state> ×<times entered>` for every state the children entered, in first-entered order. */
  readonly states: string[];
  readonly children: number;
  readonly failedItems: number;
  /** The first failed child's task error. */
  readonly taskError?: ExecutionRecord['taskError'];
  /** The children's count, durations and the middle one's input. */
  readonly timing: MapRunTiming;
}

/** Runs a distributed Map on its effective input; throws a `States.*` error when it fails. */
export async function runDistributedMap(
  state: DistributedMapState,
  input: unknown,
  run: DistributedMapRun,
): Promise<DistributedMapOutcome & { error?: Error }> {
  const where = `distributed Map state "${run.stateName}"`;
  const items = await readItems(state, input, run, where);
  const selector = state.ItemSelector ?? state.Parameters;
  const selected: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    selected.push(
      selector ? await evaluate(selector, input, { Map: { Item: { Index: i, Value: items[i] } } }) : items[i],
    );
  }
  const batches = await batch(state, input, selected, where);
  const number = async (value: number | undefined, path: string | undefined, field: string) => {
    if (path === undefined) return value;
    const v = await evaluatePath(path, input);
    if (typeof v !== 'number' || v < 0)
      throw statesError(
        'States.Runtime',
        `${where}: ${field} ${path} gives ${JSON.stringify(v)}, not a number ≥ 0`,
      );
    return v;
  };
  const maxConcurrency =
    (await number(state.MaxConcurrency, state.MaxConcurrencyPath, 'MaxConcurrencyPath')) ||
    Number.POSITIVE_INFINITY;
  const toleratedCount = await number(
    state.ToleratedFailureCount,
    state.ToleratedFailureCountPath,
    'ToleratedFailureCountPath',
  );
  const toleratedPct = await number(
    state.ToleratedFailurePercentage,
    state.ToleratedFailurePercentagePath,
    'ToleratedFailurePercentagePath',
  );
  const exceeded = (failed: number): boolean => {
    if (toleratedCount === undefined && toleratedPct === undefined) return failed > 0;
    return (
      (toleratedCount !== undefined && failed > toleratedCount) ||
      (toleratedPct !== undefined && items.length > 0 && (failed * 100) / items.length > toleratedPct)
    );
  };

  const [arnHead, machineName] = splitMachineArn(run.machineArn);
  const label = state.Label ?? run.stateName;
  const mapRunId = randomUUID();
  const mapRunArn = `${arnHead}:mapRun:${machineName}/${label}:${mapRunId}`;
  const childMachineArn = `${arnHead}:stateMachine:${machineName}/${label}`;
  const records: (ExecutionRecord | undefined)[] = new Array(batches.length);
  let failedItems = 0;
  let next = 0;
  const worker = async () => {
    while (next < batches.length && !exceeded(failedItems)) {
      const index = next++;
      const b = batches[index]!;
      const record = await run.runChild(
        `${arnHead}:execution:${machineName}/${label}:${randomUUID()}`,
        b.input,
      );
      records[index] = record;
      if (record.status !== 'SUCCEEDED') failedItems += b.items;
    }
  };
  const workers = Math.min(maxConcurrency, batches.length);
  await Promise.all(Array.from({ length: workers }, worker));

  const ran = records.filter((r): r is ExecutionRecord => r !== undefined);
  const outcome = {
    states: summarize(ran),
    children: ran.length,
    failedItems,
    timing: mapRunTiming(ran),
    ...(ran.find((r) => r.taskError)?.taskError
      ? { taskError: ran.find((r) => r.taskError)!.taskError }
      : {}),
  };
  let result: unknown = ran.map((r) =>
    r.status === 'SUCCEEDED' ? r.output : { Error: r.error ?? 'Error', Cause: r.cause ?? '' },
  );
  if (state.ResultWriter) {
    result = await writeResults(state.ResultWriter, input, run, where, {
      mapRunId,
      mapRunArn,
      childMachineArn,
      children: ran,
    });
  }
  if (exceeded(failedItems)) {
    const error = statesError(
      'States.ExceedToleratedFailureThreshold',
      `${where}: ${failedItems} of ${items.length} items failed, more than tolerated` +
        ` (ToleratedFailureCount ${toleratedCount ?? 'unset'}, ToleratedFailurePercentage ${toleratedPct ?? 'unset'})`,
    );
    return { result, ...outcome, error };
  }
  return { result, ...outcome };
}

function splitMachineArn(machineArn: string): [string, string] {
  const at = machineArn.indexOf(':stateMachine:');
  if (at < 0) return ['arn:aws:states:us-east-1:000000000000', machineArn];
  return [machineArn.slice(0, at), machineArn.slice(at + ':stateMachine:'.length)];
}

/** The children's count and durations, and the middle one's input (children in item order). */
function mapRunTiming(children: readonly ExecutionRecord[]): MapRunTiming {
  const ms = children
    .map((c) => Date.parse(c.stoppedAt ?? c.startedAt) - Date.parse(c.startedAt))
    .sort((a, b) => a - b);
  const mid = ms.length >> 1;
  const median = ms.length === 0 ? 0 : ms.length % 2 ? ms[mid]! : (ms[mid - 1]! + ms[mid]!) / 2;
  // The earlier of the two middle ones: with two children, the first (the last is often a short remainder).
  const middle = children[(children.length - 1) >> 1];
  return {
    children: children.length,
    failedChildren: children.filter((c) => c.status !== 'SUCCEEDED').length,
    childMs: {
      total: ms.reduce((sum, v) => sum + v, 0),
      median,
      min: ms[0] ?? 0,
      max: ms[ms.length - 1] ?? 0,
    },
    ...(middle ? { middleChildInput: middle.input } : {}),
  };
}

/** Times each state was entered by the children; a child's own summary lines (`X ×n`) add n. */
function summarize(children: readonly ExecutionRecord[]): string[] {
  const counts = new Map<string, number>();
  for (const child of children) {
    for (const line of child.states) {
      const m = /^(.*) ×(\d+)$/.exec(line);
      const [name, n] = m ? [m[1]!, Number(m[2])] : [line, 1];
      counts.set(name, (counts.get(name) ?? 0) + n);
    }
  }
  return [...counts].map(([name, n]) => `${name} ×${n}`);
}

async function readItems(
  state: DistributedMapState,
  input: unknown,
  run: DistributedMapRun,
  where: string,
): Promise<unknown[]> {
  const reader = state.ItemReader;
  if (!reader) {
    const items = await evaluatePath(state.ItemsPath ?? '$', input);
    if (!Array.isArray(items))
      throw statesError('States.Runtime', `${where}: ItemsPath ${state.ItemsPath ?? '$'} is not an array`);
    return items;
  }
  const fail = (message: string) => statesError('States.ItemReaderFailed', `${where}: ${message}`);
  if (!run.storage) throw fail('the twin has no S3 to read the ItemReader from');
  const params = (await evaluate(reader.Parameters ?? {}, input)) as {
    Bucket?: unknown;
    Key?: unknown;
    Prefix?: unknown;
  };
  const config = reader.ReaderConfig ?? {};
  if (typeof params.Bucket !== 'string')
    throw fail(`ItemReader.Parameters.Bucket is ${JSON.stringify(params.Bucket)}, not a bucket name`);
  let maxItems = config.MaxItems;
  if (config.MaxItemsPath !== undefined) {
    const v = await evaluatePath(config.MaxItemsPath, input);
    if (!(Number.isInteger(v) && (v as number) >= 0))
      throw fail(
        `ItemReader.ReaderConfig.MaxItemsPath ${config.MaxItemsPath} gives ${JSON.stringify(v)}, not a whole number`,
      );
    maxItems = (v as number) || undefined;
  }
  let items: unknown[];
  if (reader.Resource === S3_LIST_OBJECTS) {
    const prefix = params.Prefix === undefined ? '' : String(params.Prefix);
    try {
      items = await run.storage.list(params.Bucket, prefix);
    } catch (err) {
      throw fail(`listing s3://${params.Bucket}/${prefix} failed: ${(err as Error).message}`);
    }
  } else {
    if (typeof params.Key !== 'string')
      throw fail(`ItemReader.Parameters.Key is ${JSON.stringify(params.Key)}, not an object key`);
    const uri = `s3://${params.Bucket}/${params.Key}`;
    let text: string;
    try {
      text = await run.storage.getText(params.Bucket, params.Key);
    } catch (err) {
      throw fail(
        `reading ${uri} (ItemReader.Parameters) failed: ${(err as Error).name}: ${(err as Error).message}`,
      );
    }
    items = config.InputType === 'JSON' ? jsonItems(text, uri, fail) : csvItems(text, uri, config, fail);
  }
  return maxItems === undefined ? items : items.slice(0, maxItems);
}

function jsonItems(text: string, uri: string, fail: (m: string) => Error): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail(`${uri} is not JSON (ItemReader.ReaderConfig.InputType JSON): ${(err as Error).message}`);
  }
  if (!Array.isArray(value))
    throw fail(`${uri} holds no JSON array (ItemReader.ReaderConfig.InputType JSON)`);
  return value;
}

/** CSV rows as objects of strings keyed by header, as Step Functions reads them; csv-parse does the quoting. */
function csvItems(
  text: string,
  uri: string,
  config: NonNullable<DistributedMapState['ItemReader']>['ReaderConfig'] & object,
  fail: (m: string) => Error,
): Record<string, string>[] {
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), {
      delimiter: CSV_DELIMITERS[config.CSVDelimiter ?? 'COMMA'],
      relax_column_count: true,
      skip_empty_lines: true,
    }) as string[][];
  } catch (err) {
    throw fail(`${uri} is not readable as CSV: ${(err as Error).message}`);
  }
  const headers = config.CSVHeaderLocation === 'GIVEN' ? (config.CSVHeaders as string[]) : rows.shift();
  if (!headers) throw fail(`${uri} is empty: CSVHeaderLocation FIRST_ROW needs a header row`);
  return rows.map((row, i) => {
    if (row.length > headers.length)
      throw fail(`${uri} row ${i + 1} has ${row.length} fields, more than the ${headers.length} headers`);
    return Object.fromEntries(headers.map((h, j) => [h, row[j] ?? '']));
  });
}

/** The children's inputs: one per item, or batches as the ItemBatcher says. */
async function batch(
  state: DistributedMapState,
  input: unknown,
  selected: unknown[],
  where: string,
): Promise<{ input: unknown; items: number }[]> {
  const batcher = state.ItemBatcher;
  if (!batcher) return selected.map((item) => ({ input: item, items: 1 }));
  const limit = async (value: number | undefined, path: string | undefined, field: string) => {
    if (path === undefined) return value;
    const v = await evaluatePath(path, input);
    if (!(Number.isInteger(v) && (v as number) > 0))
      throw statesError(
        'States.Runtime',
        `${where}: ItemBatcher.${field} ${path} gives ${JSON.stringify(v)}, not a whole number ≥ 1`,
      );
    return v as number;
  };
  const maxItems =
    (await limit(batcher.MaxItemsPerBatch, batcher.MaxItemsPerBatchPath, 'MaxItemsPerBatchPath')) ??
    Number.POSITIVE_INFINITY;
  const maxBytes = Math.min(
    (await limit(
      batcher.MaxInputBytesPerBatch,
      batcher.MaxInputBytesPerBatchPath,
      'MaxInputBytesPerBatchPath',
    )) ?? MAX_PAYLOAD_BYTES,
    MAX_PAYLOAD_BYTES,
  );
  const batchInput = batcher.BatchInput === undefined ? undefined : await evaluate(batcher.BatchInput, input);
  const make = (items: unknown[]) => ({
    input: batchInput === undefined ? { Items: items } : { BatchInput: batchInput, Items: items },
    items: items.length,
  });
  const emptyBytes = Buffer.byteLength(JSON.stringify(make([]).input));
  const out: { input: unknown; items: number }[] = [];
  let current: unknown[] = [];
  let bytes = emptyBytes;
  for (const item of selected) {
    const size = Buffer.byteLength(JSON.stringify(item ?? null)) + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      out.push(make(current));
      current = [];
      bytes = emptyBytes;
    }
    if (current.length === 0 && emptyBytes + Buffer.byteLength(JSON.stringify(item ?? null)) > maxBytes)
      throw statesError(
        'States.Runtime',
        `${where}: an item alone is larger than ItemBatcher's ${maxBytes} bytes per batch`,
      );
    bytes += Buffer.byteLength(JSON.stringify(item ?? null)) + (current.length > 0 ? 1 : 0);
    current.push(item);
  }
  if (current.length > 0) out.push(make(current));
  return out;
}

/** One child execution as the ResultWriter's files describe it. */
function describeChild(child: ExecutionRecord, childMachineArn: string): Record<string, unknown> {
  const succeeded = child.status === 'SUCCEEDED';
  return {
    ExecutionArn: child.executionArn,
    Input: JSON.stringify(child.input ?? null),
    InputDetails: { Included: true },
    Name: child.executionArn.slice(child.executionArn.lastIndexOf(':') + 1),
    ...(succeeded
      ? { Output: JSON.stringify(child.output ?? null), OutputDetails: { Included: true } }
      : { Error: child.error ?? 'Error', Cause: child.cause ?? '' }),
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    RedriveStatusReason: `Execution is ${child.status} and cannot be redriven`,
    StartDate: child.startedAt,
    StateMachineArn: childMachineArn,
    Status: child.status,
    StopDate: child.stoppedAt ?? child.startedAt,
  };
}

async function writeResults(
  writer: NonNullable<DistributedMapState['ResultWriter']>,
  input: unknown,
  run: DistributedMapRun,
  where: string,
  map: { mapRunId: string; mapRunArn: string; childMachineArn: string; children: readonly ExecutionRecord[] },
): Promise<unknown> {
  const fail = (message: string) => statesError('States.ResultWriterFailed', `${where}: ${message}`);
  if (!run.storage) throw fail('the twin has no S3 to write the ResultWriter to');
  const params = (await evaluate(writer.Parameters ?? {}, input)) as { Bucket?: unknown; Prefix?: unknown };
  if (typeof params.Bucket !== 'string')
    throw fail(`ResultWriter.Parameters.Bucket is ${JSON.stringify(params.Bucket)}, not a bucket name`);
  const bucket = params.Bucket;
  const prefix =
    params.Prefix === undefined || params.Prefix === ''
      ? ''
      : `${String(params.Prefix).replace(/\/+$/, '')}/`;
  const dir = `${prefix}${map.mapRunId}/`;
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  try {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      const entries = map.children
        .filter((c) => (status === 'SUCCEEDED') === (c.status === 'SUCCEEDED'))
        .map((c) => describeChild(c, map.childMachineArn));
      if (entries.length === 0) continue;
      const body = JSON.stringify(entries);
      const key = `${dir}${status}_0.json`;
      await run.storage.put(bucket, key, body);
      files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${dir}manifest.json`;
    await run.storage.put(
      bucket,
      manifestKey,
      JSON.stringify({ DestinationBucket: bucket, MapRunArn: map.mapRunArn, ResultFiles: files }),
    );
    return { MapRunArn: map.mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
  } catch (err) {
    throw fail(`writing to s3://${bucket}/${dir} failed: ${(err as Error).name}: ${(err as Error).message}`);
  }
}
