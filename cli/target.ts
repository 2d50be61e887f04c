/**
 * Where the operator CLI acts: the local twin (found by its health endpoint) or a deployed stage
 * on AWS (found by its CloudFormation outputs). Both give the same registry, leases, lake and
 * pipeline operations, through the same AWS SDK clients, and the same views of the alarms and the
 * drift job (the twin's control API there, CloudWatch and Lambda here). A target that cannot be
 * found is a CliError that says what to do. The CloudWatch and Lambda clients are loaded only by
 * the commands that read alarms or run the drift job.
 */
import type { GetApiKeysCommandOutput } from '@aws-sdk/client-api-gateway';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { apiKeyPrefix, clientOfApiKeyName } from '../contracts/names.ts';
import {
  type MachineKind,
  type StackOutputId,
  stackName,
  stackOutputs,
  stackParts,
  stateMachineOutputs,
} from '../contracts/outputs.ts';
import type {
  ExecutionEvent,
  ExecutionRecord,
  TwinAlarm,
  TwinApiKey,
  TwinInfo,
} from '../contracts/twin-api.ts';
import type { DriftJobResult } from '../core/drift/types.ts';
import {
  type LeasePort,
  type ModelRegistryPort,
  type ObjectStore,
  type PredictionWindowReader,
  systemClock,
} from '../core/ports.ts';
import {
  type ClientTarget,
  clientConfig,
  httpTimeouts,
  makeDocumentClient,
  makeS3Client,
} from '../lambdas/shared/adapters/aws/clients.ts';
import { DynamoLeases } from '../lambdas/shared/adapters/aws/dynamo-leases.ts';
import { DynamoPredictionLogReader } from '../lambdas/shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { DynamoModelRegistry } from '../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { DEFAULT_LOG_SHARDS } from '../lambdas/shared/adapters/aws/prediction-log-keys.ts';
import { S3ObjectStore } from '../lambdas/shared/adapters/aws/s3-object-store.ts';
import { describeStageAlarms } from './cloudwatch-alarms.ts';
import { CliError } from './errors.ts';

/** How a state machine run ended. */
export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  taskError?: { state: string; error: string; cause: string };
}

/** What the drift job is asked to do: one model (absent: every model) over a window (absent: the model's). */
export interface DriftJobInput {
  model?: string;
  windowMinutes?: number;
}

/**
 * Where a command acts: a registry with its leases, a lake, the prediction log, the API, the state
 * machines, the alarms and the drift job.
 */
export interface Target {
  /** Says which target, for the operator (`local twin at …`, `AWS stage "…"`). */
  readonly description: string;
  /** The stage the target runs (a twin reports the one it was synthesized for), when known. */
  readonly stage?: string;
  /** Base URL of the prediction API. */
  readonly apiUrl: string;
  /** Each API client's key, which the prediction API requires as `x-api-key`. */
  apiKeys(): Promise<TwinApiKey[]>;
  readonly registry: ModelRegistryPort;
  readonly lake: ObjectStore;
  /** Reads back the prediction log rows of a model between two instants. */
  readonly readPredictions: PredictionWindowReader;
  /** Runs a state machine to the end, reporting its events as they happen. */
  execute(kind: MachineKind, input: unknown, onEvent?: (e: ExecutionEvent) => void): Promise<ExecutionResult>;
  /** Starts an execution without waiting (AWS only; the twin always runs to completion). */
  start?(kind: MachineKind, input: unknown): Promise<string>;
  /** The per-model leases (the training lease among them), on the registry table. */
  readonly leases: LeasePort;
  /** Every alarm of the stage with its state, since when, and its recent state changes. */
  alarms(): Promise<TwinAlarm[]>;
  /** Runs the drift job now and returns what it found; a failed run is a CliError with its message. */
  runDrift(input: DriftJobInput): Promise<DriftJobResult[]>;
}

/** The message of a twin control API error answer (`{error, message}`), or its raw text. */
async function twinError(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: string; message?: string };
    if (body.message) return body.error ? `${body.error}: ${body.message}` : body.message;
  } catch {
    // Not JSON: the text is the message.
  }
  return text || `HTTP ${res.status}`;
}

/** True when a twin answers its health check at `url` within 1.5 s. */
export async function isTwinListening(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_twin/health`, { signal: AbortSignal.timeout(1500) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The prediction log's shards per model and hour, from the stack output (a stack deployed before
 * the output existed has the default).
 */
function logShards(output: string | undefined): number {
  if (output === undefined) return DEFAULT_LOG_SHARDS;
  const n = Number(output);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`The PredictionLogShards output is not a count: "${output}".`);
  return n;
}

/** The twin at `url`, with clients for its loopback services as `GET /_twin/info` names them. */
export async function twinTarget(url: string): Promise<Target> {
  const res = await fetch(`${url}/_twin/info`);
  if (!res.ok) throw new CliError(`The twin at ${url} did not answer /_twin/info (HTTP ${res.status}).`);
  const info = (await res.json()) as TwinInfo;
  const target: ClientTarget = {
    region: info.region,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    endpoints: { s3: info.endpoints.s3, dynamodb: info.endpoints.dynamodb },
  };
  const db = makeDocumentClient(target);
  const out = (id: StackOutputId) => {
    const v = info.outputs[id];
    if (!v) throw new CliError(`The twin reports no ${id} output.`);
    return v;
  };
  const predictionLog = new DynamoPredictionLogReader(
    db,
    out(stackOutputs.predictionLogTableName),
    logShards(info.outputs[stackOutputs.predictionLogShards]),
  );
  const registryTable = out(stackOutputs.registryTableName);
  return {
    description: `local twin at ${url}`,
    ...(info.stage ? { stage: info.stage } : {}),
    apiUrl: url,
    registry: new DynamoModelRegistry(db, registryTable, systemClock),
    leases: new DynamoLeases(db, registryTable),
    lake: new S3ObjectStore(makeS3Client(target), out(stackOutputs.lakeBucketName)),
    readPredictions: (model, from, to) => predictionLog.readWindow(model, from, to),
    async apiKeys() {
      const res = await fetch(`${url}/_twin/keys`);
      if (!res.ok)
        throw new CliError(`The twin at ${url} did not list its API keys: ${await twinError(res)}`);
      return (await res.json()) as TwinApiKey[];
    },
    async alarms() {
      const res = await fetch(`${url}/_twin/alarms`);
      if (!res.ok) throw new CliError(`The twin at ${url} did not list its alarms: ${await twinError(res)}`);
      return (await res.json()) as TwinAlarm[];
    },
    async runDrift(input) {
      const res = await fetch(`${url}/_twin/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'drift-job', payload: input }),
      });
      if (!res.ok) throw new CliError(`The drift job failed on the twin: ${await twinError(res)}`);
      return (await res.json()) as DriftJobResult[];
    },
    async execute(kind, input, onEvent = () => {}) {
      const r = await fetch(`${url}/_twin/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stateMachine: kind, input }),
      });
      if (!r.ok || !r.body)
        throw new Error(`The twin refused the execution: HTTP ${r.status} ${await r.text()}`);
      let buffer = '';
      let record: ExecutionRecord | undefined;
      const decoder = new TextDecoder();
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) {
            const msg = JSON.parse(line) as { event?: ExecutionEvent; record?: ExecutionRecord };
            if (msg.event) onEvent(msg.event);
            if (msg.record) record = msg.record;
          }
          nl = buffer.indexOf('\n');
        }
      }
      if (!record) throw new Error('The twin closed the execution stream without a result.');
      return {
        status: record.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
        output: record.output,
        ...(record.error ? { error: record.error } : {}),
        ...(record.cause ? { cause: record.cause } : {}),
        ...(record.taskError ? { taskError: record.taskError } : {}),
      };
    },
  };
}

/**
 * A deployed stage on AWS, found by its stacks' outputs; credentials and region come from the
 * environment, as for any AWS SDK client.
 */
export async function awsTarget(stage: string): Promise<Target> {
  const cfn = new CloudFormationClient(clientConfig('cloudformation'));
  const outputs: Record<string, string> = {};
  for (const part of stackParts) {
    const name = stackName(stage, part);
    let res: DescribeStacksCommandOutput;
    try {
      res = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    } catch (err) {
      throw new CliError(
        `Cannot read stack ${name} (${(err as Error).message}). Is stage "${stage}" deployed, and are AWS credentials set? For the local twin, run \`npm start\` first.`,
      );
    }
    for (const o of res.Stacks?.[0]?.Outputs ?? [])
      if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
  }
  const need = (id: StackOutputId) => {
    const v = outputs[id];
    if (!v) throw new CliError(`Stage "${stage}" has no ${id} output.`);
    return v;
  };
  const db = makeDocumentClient();
  const sfn = new SFNClient(clientConfig('sfn'));
  // Each ARN is read when its machine is started, so that a stage deployed before a machine existed
  // (batch scoring) still runs the others.
  const arnOf = (kind: MachineKind) => need(stateMachineOutputs[kind]);
  const predictionLog = new DynamoPredictionLogReader(
    db,
    need(stackOutputs.predictionLogTableName),
    logShards(outputs[stackOutputs.predictionLogShards]),
  );
  const registryTable = need(stackOutputs.registryTableName);
  const start = async (kind: MachineKind, input: unknown) => {
    const res = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf(kind), input: JSON.stringify(input) }),
    );
    return res.executionArn!;
  };
  return {
    description: `AWS stage "${stage}"`,
    stage,
    apiUrl: need(stackOutputs.apiUrl),
    registry: new DynamoModelRegistry(db, registryTable, systemClock),
    leases: new DynamoLeases(db, registryTable),
    lake: new S3ObjectStore(makeS3Client(), need(stackOutputs.lakeBucketName)),
    readPredictions: (model, from, to) => predictionLog.readWindow(model, from, to),
    start,
    apiKeys: () => stageApiKeys(stage),
    alarms: () => describeStageAlarms(stage),
    // The output is read when the job is asked for, so that a stage deployed before the drift job
    // had one still answers every other command.
    runDrift: (input) => invokeDriftJob(need(stackOutputs.driftJobFunctionName), input),
    async execute(kind, input, onEvent = () => {}) {
      const executionArn = await start(kind, input);
      const seen = new Set<number>();
      for (;;) {
        await new Promise((r) => setTimeout(r, 5000));
        const history = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, reverseOrder: false, maxResults: 1000 }),
        );
        for (const e of history.events ?? []) {
          if (e.id === undefined || seen.has(e.id)) continue;
          seen.add(e.id);
          if (e.stateEnteredEventDetails?.name)
            onEvent({ type: 'StateEntered', state: e.stateEnteredEventDetails.name });
          // Read every few seconds: a state's duration on a terminal is known to that interval.
          if (e.stateExitedEventDetails?.name)
            onEvent({ type: 'StateExited', state: e.stateExitedEventDetails.name });
        }
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (d.status === 'RUNNING' || d.status === 'PENDING_REDRIVE') continue;
        return {
          status:
            d.status === 'SUCCEEDED'
              ? 'SUCCEEDED'
              : d.status === 'TIMED_OUT'
                ? 'TIMED_OUT'
                : d.status === 'ABORTED'
                  ? 'ABORTED'
                  : 'FAILED',
          ...(d.output ? { output: JSON.parse(d.output) as unknown } : {}),
          ...(d.error ? { error: d.error } : {}),
          ...(d.cause ? { cause: d.cause } : {}),
        };
      }
    },
  };
}

/**
 * The API keys of a stage's clients, from API Gateway: the keys named `mlops-<stage>--client-<client>`,
 * with their values (GetApiKeys with includeValues). The client is loaded only by the commands that
 * need keys.
 */
async function stageApiKeys(stage: string): Promise<TwinApiKey[]> {
  const { APIGatewayClient, GetApiKeysCommand } = await import('@aws-sdk/client-api-gateway');
  const apigw = new APIGatewayClient({ requestHandler: httpTimeouts });
  const keys: TwinApiKey[] = [];
  let position: string | undefined;
  do {
    let page: GetApiKeysCommandOutput;
    try {
      page = await apigw.send(
        new GetApiKeysCommand({ includeValues: true, nameQuery: apiKeyPrefix(stage), limit: 500, position }),
      );
    } catch (err) {
      throw new CliError(
        `Cannot read the API keys of stage "${stage}" from API Gateway (${(err as Error).message}). Are AWS credentials set, with apigateway:GET on /apikeys?`,
      );
    }
    for (const item of page.items ?? []) {
      const client = item.name ? clientOfApiKeyName(stage, item.name) : undefined;
      if (client !== undefined && item.value && item.enabled !== false)
        keys.push({ client, key: item.value });
    }
    position = page.position;
  } while (position);
  return keys.sort((a, b) => a.client.localeCompare(b.client));
}

/**
 * Invokes the stage's drift job and waits for its answer. The job reads a window of the prediction
 * log, so the read timeout is Lambda's longest run, not the platform clients' 30 s; the SDK does
 * not retry it, so one command is one run.
 */
async function invokeDriftJob(functionName: string, input: DriftJobInput): Promise<DriftJobResult[]> {
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient({
    requestHandler: { connectionTimeout: httpTimeouts.connectionTimeout, requestTimeout: 900_000 },
    maxAttempts: 1,
  });
  const res = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify(input)),
    }),
  );
  const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
  if (res.FunctionError) {
    let message = text;
    try {
      const err = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      if (err.errorMessage)
        message = err.errorType ? `${err.errorType}: ${err.errorMessage}` : err.errorMessage;
    } catch {
      // The raw payload is the message.
    }
    throw new CliError(`The drift job ${functionName} failed: ${message}`);
  }
  return JSON.parse(text) as DriftJobResult[];
}
