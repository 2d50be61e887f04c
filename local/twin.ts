/**
 * The local twin: boots the platform from its synthesized cloud assembly on one machine.
 * Tables and buckets are created from the templates' own definitions on dynalite and s3rver
 * (loopback, AWS wire protocol), the functions are the bundles `cdk deploy` uploads, the state
 * machines are the templates' ASL run by aws-local-stepfunctions, and SageMaker training runs the
 * uploaded training code with Debian's XGBoost.
 */
import './polyfill.ts';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { type MachineKind, stateMachineOutputs } from '../contracts/outputs.ts';
import type { ExecutionEvent, ExecutionRecord, Notification } from '../contracts/twin-api.ts';
import type { ObjectStore } from '../core/ports.ts';
import { type ClientTarget, clientConfig, makeS3Client } from '../lambdas/shared/adapters/aws/clients.ts';
import { S3ObjectStore } from '../lambdas/shared/adapters/aws/s3-object-store.ts';
import { LogCapture } from './log-capture.ts';
import { LocalSageMakerEndpoints } from './sagemaker/index.ts';
import { type CreateTrainingJobRequest, runTrainingJob } from './sagemaker/training-job.ts';
import { type Assembly, LOCAL_REGION, Resolver, readAssembly, type StackTemplate } from './template.ts';

const MACHINE_OUTPUTS = stateMachineOutputs;

export interface TwinOptions {
  /** A synthesized assembly to boot from. */
  assemblyDir: string;
  /** Where the twin writes function logs; default: a temp dir. */
  workDir?: string;
  /** Progress lines (training output, notifications). */
  log?: (line: string) => void;
}

interface LocalFunction {
  arn: string;
  logicalId: string;
  dir: string;
  entry: string;
  env: Record<string, string>;
  handler?: (event: unknown, context: unknown) => Promise<unknown>;
}

/**
 * A bake of minutes or an endpoint check every 30 s would stall the twin, so its Wait states last
 * 25 ms: about as long as a local endpoint change takes to go into service.
 */
const DEFAULT_WAIT_MS = 25;

export class LocalTwin {
  readonly assembly: Assembly;
  readonly resolver: Resolver;
  readonly notifications: Notification[] = [];
  /** How long each Wait state lasts in the twin, in ms, by state name (default {@link DEFAULT_WAIT_MS}). */
  waitMs: Record<string, number> = {};
  /** SageMaker endpoints (serving mode `endpoint`), served locally with the TypeScript scorer. */
  readonly sagemaker: LocalSageMakerEndpoints;
  /** Executions started by other executions (`states:startExecution`), still running or done. */
  private readonly background: Promise<ExecutionRecord>[] = [];
  readonly executions: ExecutionRecord[] = [];
  readonly logs: LogCapture;
  endpoints = { s3: '', dynamodb: '', sagemaker: '' };
  private readonly functions = new Map<string, LocalFunction>();
  private readonly machines = new Map<MachineKind, { arn: string; definition: Record<string, unknown> }>();
  private dynamo?: ReturnType<typeof dynalite>;
  private s3?: S3rver;
  private s3Dir?: string;
  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  private s3Client?: S3Client;
  private readonly log: (line: string) => void;

  constructor(options: TwinOptions) {
    this.assembly = readAssembly(options.assemblyDir);
    this.resolver = new Resolver(this.assembly);
    this.ownsWorkDir = !options.workDir;
    this.workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'mlops-twin-'));
    this.logs = new LogCapture(join(this.workDir, 'functions.log'));
    this.log = options.log ?? (() => {});
    this.sagemaker = new LocalSageMakerEndpoints({ getStore: (bucket) => this.store(bucket) });
  }

  /** Where SDK clients reach the twin's services (its loopback endpoints, local credentials). */
  clientTarget(): ClientTarget {
    return {
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      endpoints: {
        s3: this.endpoints.s3,
        dynamodb: this.endpoints.dynamodb,
        sagemaker: this.endpoints.sagemaker,
        sagemakerRuntime: this.endpoints.sagemaker,
      },
    };
  }

  /** Starts dynalite and s3rver on loopback and creates what the templates declare. */
  async start(): Promise<void> {
    this.dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((res) => this.dynamo!.listen(0, '127.0.0.1', () => res()));
    this.endpoints.dynamodb = `http://127.0.0.1:${(this.dynamo.address() as AddressInfo).port}`;
    this.s3Dir = mkdtempSync(join(tmpdir(), 'mlops-s3-'));
    this.s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: this.s3Dir });
    const { port } = (await this.s3.run()) as AddressInfo;
    this.endpoints.s3 = `http://127.0.0.1:${port}`;
    this.endpoints.sagemaker = await this.sagemaker.start();

    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: this.endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: this.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SAGEMAKER: this.endpoints.sagemaker,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: this.endpoints.sagemaker,
    });
    this.s3Client = makeS3Client(this.clientTarget());
    await this.createTables();
    await this.createBuckets();
    await this.publishAssets();
    this.loadFunctions();
    this.loadStateMachines();
    this.logs.start();
  }

  async stop(): Promise<void> {
    await this.settle().catch(() => {});
    this.logs.stop();
    await this.sagemaker.stop();
    await new Promise<void>((res) => (this.dynamo ? this.dynamo.close(() => res()) : res()));
    if (this.s3) await this.s3.close();
    if (this.s3Dir) rmSync(this.s3Dir, { recursive: true, force: true });
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }

  private *resources(
    type: string | string[],
  ): Generator<{ stack: StackTemplate; id: string; props: Record<string, unknown> }> {
    const types = Array.isArray(type) ? type : [type];
    for (const stack of this.assembly.stacks) {
      for (const [id, res] of Object.entries(stack.Resources)) {
        if (types.includes(res.Type)) {
          yield {
            stack,
            id,
            props: this.resolver.resolve(res.Properties ?? {}, stack) as Record<string, unknown>,
          };
        }
      }
    }
  }

  private async createTables(): Promise<void> {
    const client = new DynamoDBClient(clientConfig('dynamodb', this.clientTarget()));
    for (const { stack, id, props } of this.resources([
      'AWS::DynamoDB::Table',
      'AWS::DynamoDB::GlobalTable',
    ])) {
      const gsis = props.GlobalSecondaryIndexes as
        | CreateTableCommandInput['GlobalSecondaryIndexes']
        | undefined;
      await client.send(
        new CreateTableCommand({
          TableName: this.resolver.physicalName(stack, id),
          KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
          AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
          BillingMode: 'PAY_PER_REQUEST',
          ...(gsis
            ? {
                GlobalSecondaryIndexes: gsis.map((g) => ({
                  IndexName: g.IndexName,
                  KeySchema: g.KeySchema,
                  Projection: g.Projection,
                })),
              }
            : {}),
        }),
      );
    }
    client.destroy();
  }

  private async createBuckets(): Promise<void> {
    for (const { stack, id } of this.resources('AWS::S3::Bucket')) {
      await this.s3Client!.send(new CreateBucketCommand({ Bucket: this.resolver.physicalName(stack, id) }));
    }
  }

  /** Uploads the file assets (state machine definitions, the training code tarball) as `cdk deploy` does. */
  private async publishAssets(): Promise<void> {
    const created = new Set<string>();
    const stack = this.assembly.stacks[0]!;
    for (const asset of this.assembly.fileAssets) {
      if (asset.packaging !== 'file') continue;
      // Asset manifests name the bucket with CloudFormation placeholders, as in Fn::Sub.
      const bucket = String(this.resolver.resolve({ 'Fn::Sub': asset.bucketName }, stack));
      if (!created.has(bucket)) {
        await this.s3Client!.send(new CreateBucketCommand({ Bucket: bucket }));
        created.add(bucket);
      }
      await this.store(bucket).put(asset.objectKey, readFileSync(asset.path));
    }
  }

  /** An object store on any local bucket. */
  store(bucket: string): ObjectStore {
    return new S3ObjectStore(this.s3Client!, bucket);
  }

  private loadFunctions(): void {
    for (const stack of this.assembly.stacks) {
      for (const [id, res] of Object.entries(stack.Resources)) {
        if (res.Type !== 'AWS::Lambda::Function') continue;
        const assetPath = res.Metadata?.['aws:asset:path'];
        if (typeof assetPath !== 'string') continue;
        const dir = join(this.assembly.dir, assetPath);
        const handler = String(res.Properties?.Handler ?? 'index.handler');
        const base = handler.slice(0, handler.lastIndexOf('.'));
        const entry = ['.mjs', '.js', '.cjs'].map((ext) => join(dir, base + ext)).find((p) => existsSync(p));
        if (!entry) continue;
        const env = this.resolver.resolve(
          (res.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
          stack,
        ) as Record<string, string>;
        const arn = this.resolver.arn(stack, id);
        this.functions.set(arn, { arn, logicalId: id, dir, entry, env });
      }
    }
  }

  /** Invokes a function by ARN or name the way Lambda does: its own environment, a context, the event. */
  async invoke(fnArn: string, event: unknown): Promise<unknown> {
    const found = this.resolver.lookup(fnArn);
    const fn =
      this.functions.get(fnArn) ??
      (found ? this.functions.get(this.resolver.arn(found.stack, found.logicalId)) : undefined);
    if (!fn) throw new Error(`The twin has no function ${fnArn}`);
    Object.assign(process.env, fn.env);
    if (!fn.handler) {
      const mod = (await import(pathToFileURL(fn.entry).href)) as { handler: LocalFunction['handler'] };
      if (typeof mod.handler !== 'function') throw new Error(`${fn.entry} exports no handler`);
      fn.handler = mod.handler;
    }
    const requestId = randomUUID();
    const context = {
      functionName: fn.logicalId,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.logicalId}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => 300_000,
      done: () => {},
      fail: () => {},
      succeed: () => {},
    };
    return fn.handler(event, context);
  }

  /** The function behind the REST API's methods. */
  apiFunctionArn(): string {
    for (const stack of this.assembly.stacks) {
      for (const res of Object.values(stack.Resources)) {
        if (res.Type !== 'AWS::ApiGateway::Method') continue;
        const found = JSON.stringify(res.Properties?.Integration ?? {}).match(
          /"Fn::GetAtt":\["([^"]+)","Arn"\]/,
        );
        if (found) return this.resolver.arn(stack, found[1]!);
      }
    }
    throw new Error('The assembly has no API Gateway method integrated with a function');
  }

  /** The drift job function (scheduled in AWS). */
  functionArnByEnv(envKey: string, value?: string): string | undefined {
    for (const fn of this.functions.values())
      if (envKey in fn.env && (value === undefined || fn.env[envKey] === value)) return fn.arn;
    return undefined;
  }

  functionArnByService(service: string): string | undefined {
    return this.functionArnByEnv('POWERTOOLS_SERVICE_NAME', service);
  }

  private loadStateMachines(): void {
    for (const [kind, outputId] of Object.entries(MACHINE_OUTPUTS) as [MachineKind, string][]) {
      const arn = this.resolver.output(outputId);
      if (!arn) throw new Error(`The assembly has no ${outputId} output`);
      const found = this.resolver.lookup(arn);
      if (!found) throw new Error(`Output ${outputId} does not point at a state machine`);
      const props = found.stack.Resources[found.logicalId]!.Properties ?? {};
      let text: string;
      if (props.DefinitionString !== undefined) {
        text = String(this.resolver.resolve(props.DefinitionString, found.stack));
      } else {
        const key = String(
          this.resolver.resolve((props.DefinitionS3Location as { Key: unknown }).Key, found.stack),
        );
        const asset = this.assembly.fileAssets.find((a) => a.objectKey === key);
        if (!asset) throw new Error(`No asset holds the definition ${key} of ${outputId}`);
        text = readFileSync(asset.path, 'utf8');
      }
      const subs = this.resolver.resolve(props.DefinitionSubstitutions ?? {}, found.stack) as Record<
        string,
        string
      >;
      text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, k: string) => (k in subs ? String(subs[k]) : m));
      this.machines.set(kind, { arn, definition: JSON.parse(text) as Record<string, unknown> });
    }
  }

  stateMachineArn(kind: MachineKind): string {
    return this.machines.get(kind)!.arn;
  }

  /** Waits for every execution that another execution started; returns their records. */
  async settle(): Promise<ExecutionRecord[]> {
    const done: ExecutionRecord[] = [];
    while (this.background.length > 0) done.push(await this.background.shift()!);
    return done;
  }

  /** Runs one execution of a state machine to its end; `onEvent` sees each state as it happens. */
  async execute(
    kind: MachineKind,
    input: unknown,
    onEvent: (e: ExecutionEvent) => void = () => {},
  ): Promise<ExecutionRecord> {
    const machine = this.machines.get(kind);
    if (!machine) throw new Error(`Unknown state machine "${kind}" (known: training, promotion, rollback)`);
    const record: ExecutionRecord = {
      executionArn: `${machine.arn.replace(':stateMachine:', ':execution:')}:${randomUUID()}`,
      stateMachine: kind,
      status: 'RUNNING',
      input,
      states: [],
      startedAt: new Date().toISOString(),
    };
    this.executions.push(record);
    const states = machine.definition.States as Record<
      string,
      { Type: string; Resource?: string; Retry?: unknown }
    >;
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const waitTimeOverrides: Record<string, number> = {};
    for (const [name, state] of Object.entries(states)) {
      if (state.Retry) retryIntervalOverrides[name] = 10;
      if (state.Type === 'Wait') waitTimeOverrides[name] = this.waitMs[name] ?? DEFAULT_WAIT_MS;
      if (state.Type !== 'Task') continue;
      handlers[name] = this.taskHandler(name, String(state.Resource));
    }
    const sm = new StateMachine(machine.definition as never, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const run = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides, waitTimeOverrides },
    });
    const watching = (async () => {
      for await (const ev of run.eventLogs) {
        const e = ev as {
          type: string;
          state?: { name: string };
          Error?: string;
          Cause?: string;
          error?: string;
          cause?: string;
        };
        const event: ExecutionEvent = {
          type: e.type,
          ...(e.state?.name ? { state: e.state.name } : {}),
          ...((e.Error ?? e.error) ? { error: e.Error ?? e.error } : {}),
          ...((e.Cause ?? e.cause) ? { cause: String(e.Cause ?? e.cause) } : {}),
        };
        if (e.type === 'StateEntered' && event.state) record.states.push(event.state);
        if (e.type === 'StateFailed' && !record.taskError && event.state) {
          record.taskError = { state: event.state, error: event.error ?? 'Error', cause: event.cause ?? '' };
        }
        onEvent(event);
      }
    })();
    try {
      record.output = await run.result;
      record.status = 'SUCCEEDED';
    } catch (err) {
      record.status = 'FAILED';
      const e = err as { name?: string; message?: string; cause?: { name?: string; message?: string } };
      record.error = e.cause?.name ?? e.name ?? 'Error';
      record.cause = e.cause?.message ?? e.message ?? '';
    }
    await watching.catch(() => {});
    record.stoppedAt = new Date().toISOString();
    return record;
  }

  private taskHandler(stateName: string, resource: string): (input: unknown) => Promise<unknown> {
    if (resource === 'arn:aws:states:::lambda:invoke') {
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        return { Payload: await this.invoke(FunctionName, Payload), StatusCode: 200 };
      };
    }
    if (resource === 'arn:aws:states:::sagemaker:createTrainingJob.sync') {
      return (input) => runTrainingJob(input as CreateTrainingJobRequest, (b) => this.store(b), this.log);
    }
    if (resource === 'arn:aws:states:::states:startExecution') {
      return async (input) => {
        const { StateMachineArn, Input } = input as { StateMachineArn: string; Input: unknown };
        const kind = [...this.machines.entries()].find(([, m]) => m.arn === StateMachineArn)?.[0];
        if (!kind) throw new Error(`The twin has no state machine ${StateMachineArn}`);
        // Started, not awaited, as in Step Functions; settle() waits for such executions.
        const run = this.execute(kind, typeof Input === 'string' ? JSON.parse(Input) : Input, (e) => {
          if (e.type === 'StateEntered' && e.state) this.log(`[${kind}] → ${e.state}`);
        });
        this.background.push(run);
        return {
          ExecutionArn: `${StateMachineArn.replace(':stateMachine:', ':execution:')}:started`,
          StartDate: new Date().toISOString(),
        };
      };
    }
    if (resource === 'arn:aws:states:::sns:publish') {
      return async (input) => {
        const { TopicArn, Subject, Message } = input as {
          TopicArn: string;
          Subject?: string;
          Message: string;
        };
        const n: Notification = {
          at: new Date().toISOString(),
          topicArn: TopicArn,
          message: String(Message),
          ...(Subject ? { subject: Subject } : {}),
        };
        this.notifications.push(n);
        this.log(`[operators] ${Subject ? `${Subject}: ` : ''}${Message}`);
        return { MessageId: randomUUID() };
      };
    }
    return async () => {
      throw new Error(`The local twin does not emulate the task resource ${resource} (state ${stateName})`);
    };
  }
}
