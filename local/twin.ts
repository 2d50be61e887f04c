/**
 * The local twin: boots the platform from its synthesized cloud assembly on one machine.
 * Tables and buckets are created from the templates' own definitions on dynalite and s3rver
 * (loopback, AWS wire protocol); the functions are the bundles `cdk deploy` uploads, each run in an
 * instance of its own with its template environment (see local/functions.ts); the state machines
 * are the templates' ASL run by aws-local-stepfunctions (local/step-functions.ts); SageMaker
 * training runs the uploaded training code with Debian's XGBoost and endpoints are served by the
 * TypeScript scorer (local/sagemaker/). With the `monitoring` option, the templates' alarms are
 * evaluated against the functions' metrics and the ones the twin records for the services it
 * emulates, and their EventBridge rules and schedules run (local/monitoring.ts).
 *
 * With a `stateDir`, the twin keeps its tables, buckets, executions, function log and API key
 * values there (local/twin-state.ts) and a twin started later on the same directory carries on from
 * them; without one, everything lives in memory and temporary directories, removed on stop.
 *
 * The twin leaves its own process environment alone: code in the twin's process that needs SDK
 * clients builds them with {@link LocalTwin.clientTarget}.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { type MachineKind, stackOutputs, stateMachineOutputs } from '../contracts/outputs.ts';
import type { ExecutionEvent, ExecutionRecord, Notification } from '../contracts/twin-api.ts';
import { TRAINING_LEASE } from '../core/policy/lease.ts';
import { type ObjectStore, systemClock } from '../core/ports.ts';
import {
  type ClientTarget,
  clientConfig,
  makeDocumentClient,
  makeS3Client,
} from '../lambdas/shared/adapters/aws/clients.ts';
import { DynamoLeases } from '../lambdas/shared/adapters/aws/dynamo-leases.ts';
import { DynamoModelRegistry } from '../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { S3ObjectStore } from '../lambdas/shared/adapters/aws/s3-object-store.ts';
import { assemblyStage, TwinApiKeys } from './api-keys.ts';
import { type MetricPoint, MetricStore } from './cloudwatch.ts';
import { s3MapStorage } from './distributed-map.ts';
import { type LocalDynamoDb, startLocalDynamoDb } from './dynamodb.ts';
import { type FunctionServices, type LocalFunction, LocalFunctions, readFunctions } from './functions.ts';
import { LocalLambdaApi } from './lambda-api.ts';
import { LogCapture } from './log-capture.ts';
import { TwinMonitoring } from './monitoring.ts';
import { type LocalS3, startLocalS3 } from './s3-server.ts';
import { LocalSageMakerEndpoints } from './sagemaker/index.ts';
import { type CreateTrainingJobRequest, runTrainingJob } from './sagemaker/training-job.ts';
import { LocalStepFunctions, type StateMachineDefinition, type TaskRunner } from './step-functions.ts';
import { type Assembly, LOCAL_REGION, Resolver, readAssembly, type StackTemplate } from './template.ts';
import {
  claimStateDir,
  ExecutionJournal,
  keepApiKeys,
  readKeptApiKeys,
  releaseStateDir,
  statePaths,
  TWIN_STOPPED_ERROR,
  type TwinStatePaths,
} from './twin-state.ts';

export interface TwinOptions {
  /** A synthesized assembly to boot from. */
  assemblyDir: string;
  /** Where the twin writes function logs; default: the state directory, or a temp dir. */
  workDir?: string;
  /**
   * A directory to keep the twin's state in (tables, buckets, executions, function log), created if
   * missing; a twin started later on it carries on from there. One twin at a time uses it.
   * @default none: state in memory and temporary directories, removed on stop
   */
  stateDir?: string;
  /** Progress lines (training output, notifications). */
  log?: (line: string) => void;
  /**
   * Evaluate the templates' alarms and run their EventBridge rules' schedules, in real time. Off by
   * default, so that a test's twin changes nothing on its own; `mlops local up` turns it on.
   * @default false
   */
  monitoring?: boolean;
  /**
   * Time between alarm evaluations, in ms.
   * @default 5000
   */
  alarmEvaluationMs?: number;
}

/**
 * A bake of minutes or an endpoint check every 30 s would stall the twin, so its Wait states last
 * 25 ms: about as long as a local endpoint change takes to go into service.
 */
const DEFAULT_WAIT_MS = 25;

/** The credentials the twin's services accept (s3rver checks them; dynalite ignores them). */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export class LocalTwin {
  readonly assembly: Assembly;
  readonly resolver: Resolver;
  readonly notifications: Notification[] = [];
  /** How long each Wait state lasts in the twin, in ms, by state name (default {@link DEFAULT_WAIT_MS}). */
  waitMs: Record<string, number> = {};
  /** SageMaker endpoints (serving mode `endpoint`), served locally with the TypeScript scorer. */
  readonly sagemaker: LocalSageMakerEndpoints;
  readonly logs: LogCapture;
  /**
   * CloudWatch metrics: the functions' EMF points and those the twin records itself (AWS/Lambda per
   * function, AWS/States per state machine, AWS/ApiGateway for the prediction API).
   */
  readonly metrics = new MetricStore();
  /** The loopback endpoints of the emulated services (set by start()). */
  readonly endpoints = { s3: '', dynamodb: '', sagemaker: '', lambda: '' };
  private functions?: LocalFunctions;
  private stepFunctions?: LocalStepFunctions;
  private readonly machineArns = new Map<MachineKind, string>();
  private dynamo?: LocalDynamoDb;
  private s3?: LocalS3;
  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  /** The state directory's parts, when the twin keeps its state (set by start()). */
  private state?: TwinStatePaths;
  private readonly stateDir: string | undefined;
  private journal?: ExecutionJournal;
  private keys?: TwinApiKeys;
  private s3Client?: S3Client;
  private readonly log: (line: string) => void;
  private readonly monitoringOn: boolean;
  private readonly alarmEvaluationMs: number | undefined;
  private monitor?: TwinMonitoring;
  /** Asynchronous invocations (rule targets) still running; settle() waits for them. */
  private readonly asyncInvocations = new Set<Promise<unknown>>();
  private apiDimensions?: Record<string, string>;
  /** Lambda's Invoke API, for the functions' Lambda clients. */
  private readonly lambdaApi = new LocalLambdaApi({
    resolve: (nameOrArn) => this.functions?.find(nameOrArn)?.arn,
    invoke: (arn, event) => this.invoke(arn, event),
    invokeAsync: (arn, event) => this.invokeAsync(arn, event),
  });

  constructor(options: TwinOptions) {
    this.assembly = readAssembly(options.assemblyDir);
    this.resolver = new Resolver(this.assembly);
    this.stateDir = options.stateDir;
    this.ownsWorkDir = !options.workDir && !options.stateDir;
    this.workDir =
      options.workDir ??
      (options.stateDir ? statePaths(options.stateDir).dir : mkdtempSync(join(tmpdir(), 'mlops-twin-')));
    this.logs = new LogCapture(join(this.workDir, 'functions.log'), this.metrics);
    this.log = options.log ?? (() => {});
    this.monitoringOn = options.monitoring ?? false;
    this.alarmEvaluationMs = options.alarmEvaluationMs;
    this.sagemaker = new LocalSageMakerEndpoints({ getStore: (bucket) => this.store(bucket) });
  }

  /** Where SDK clients reach the twin's services (its loopback endpoints, local credentials). */
  clientTarget(): ClientTarget {
    return this.services();
  }

  /** Starts dynalite, s3rver and the SageMaker service on loopback and creates what the templates declare. */
  async start(): Promise<void> {
    let history: ExecutionRecord[] = [];
    if (this.stateDir) {
      this.state = claimStateDir(this.stateDir);
      this.journal = new ExecutionJournal(this.state.executions);
      history = this.journal.load();
    }
    // Clients keep their key values across restarts on a state directory; a key the templates no
    // longer define is dropped from it.
    this.keys = new TwinApiKeys(this.resolver, assemblyStage(this.resolver), {
      kept: this.state ? readKeptApiKeys(this.state.apiKeys) : [],
    });
    if (this.state) keepApiKeys(this.state.apiKeys, this.keys.keys());
    this.dynamo = await startLocalDynamoDb(this.state ? { path: this.state.tables } : {});
    this.endpoints.dynamodb = this.dynamo.endpoint;
    this.s3 = await startLocalS3(this.state ? { directory: this.state.buckets } : {});
    this.endpoints.s3 = this.s3.endpoint;
    this.endpoints.sagemaker = await this.sagemaker.start();
    this.endpoints.lambda = await this.lambdaApi.start();

    this.s3Client = makeS3Client(this.clientTarget());
    await this.createTables();
    await this.releaseLeasesOfStopped(history);
    await this.endStagesOfStopped(history);
    await this.createBuckets();
    await this.publishAssets();
    this.functions = new LocalFunctions(
      readFunctions(this.assembly, this.resolver),
      () => this.services(),
      this.logs,
    );
    this.stepFunctions = new LocalStepFunctions({
      machines: this.loadStateMachines(),
      task: (resource, stateName) => this.taskRunner(stateName, resource),
      waitMs: (stateName) => this.waitMs[stateName] ?? DEFAULT_WAIT_MS,
      log: this.log,
      history,
      storage: s3MapStorage(this.s3Client),
      onStart: (record) => {
        this.journal?.write(record);
        this.recordExecution(record, 'ExecutionsStarted');
      },
      onEnd: (record) => {
        this.journal?.write(record);
        this.recordExecution(
          record,
          record.status === 'SUCCEEDED' ? 'ExecutionsSucceeded' : 'ExecutionsFailed',
        );
        const ms = Date.parse(record.stoppedAt ?? record.startedAt) - Date.parse(record.startedAt);
        this.recordExecution(record, 'ExecutionTime', ms, 'Milliseconds');
      },
    });
    this.apiDimensions = this.findApiDimensions();
    this.monitor = this.createMonitoring();
    if (this.monitoringOn) this.monitor.start();
  }

  /** The API keys of the templates with the values this twin issued, and their usage plans. */
  get apiKeys(): TwinApiKeys {
    return this.started(this.keys);
  }

  /** The alarms, rules and schedules of the templates (evaluated and run with the `monitoring` option). */
  get monitoring(): TwinMonitoring {
    return this.started(this.monitor);
  }

  private createMonitoring(): TwinMonitoring {
    const stepFunctions = this.started(this.stepFunctions);
    const functions = this.started(this.functions);
    return new TwinMonitoring({
      resolver: this.resolver,
      metrics: this.metrics,
      log: this.log,
      ...(this.alarmEvaluationMs !== undefined ? { tickMs: this.alarmEvaluationMs } : {}),
      services: {
        isStateMachine: (arn) => stepFunctions.machine(arn) !== undefined,
        isFunction: (arn) => functions.find(arn) !== undefined,
        startExecution: (arn, input) => {
          stepFunctions.startExecution(arn, input);
        },
        invokeAsync: (arn, input) => this.invokeAsync(arn, input),
        publish: (topicArn, message, subject, shown) => this.publish(topicArn, message, subject, shown),
      },
    });
  }

  /**
   * Invokes a function without waiting, as Lambda runs an asynchronous invocation (a rule's target,
   * an `Event` invocation): a failure is logged, and settle() and stop() wait for it.
   */
  invokeAsync(fnArnOrName: string, event: unknown): void {
    const running = this.invoke(fnArnOrName, event)
      .catch((err: Error) =>
        this.log(`[lambda] asynchronous invocation of ${fnArnOrName} failed: ${err.name}: ${err.message}`),
      )
      .finally(() => this.asyncInvocations.delete(running));
    this.asyncInvocations.add(running);
  }

  /** Records a metric point the twin produces itself (the AWS services' own metrics). */
  private record(
    namespace: string,
    name: string,
    dimensions: Record<string, string>,
    value: number,
    unit: MetricPoint['unit'] = 'Count',
  ): void {
    this.metrics.put({ namespace, name, dimensions, value, unit, timestamp: Date.now() });
  }

  private recordExecution(record: ExecutionRecord, name: string, value = 1, unit = 'Count'): void {
    this.record('AWS/States', name, { StateMachineArn: record.stateMachineArn }, value, unit);
  }

  /** The prediction API's metric dimensions as CDK's stage metrics name them: the API's name and its stage. */
  private findApiDimensions(): Record<string, string> | undefined {
    for (const stack of this.assembly.stacks) {
      for (const res of Object.values(stack.Resources)) {
        if (res.Type !== 'AWS::ApiGateway::Method') continue;
        if (!JSON.stringify(res.Properties?.Integration ?? {}).includes('"Fn::GetAtt"')) continue;
        const apiId = (res.Properties?.RestApiId as { Ref?: string } | undefined)?.Ref;
        const api = apiId ? stack.Resources[apiId] : undefined;
        if (!apiId || !api) continue;
        const stageId = Object.keys(stack.Resources).find(
          (id) =>
            stack.Resources[id]!.Type === 'AWS::ApiGateway::Stage' &&
            (stack.Resources[id]!.Properties?.RestApiId as { Ref?: string } | undefined)?.Ref === apiId,
        );
        if (!stageId) continue;
        const name = api.Properties?.Name;
        return {
          ApiName:
            name === undefined
              ? this.resolver.physicalName(stack, apiId)
              : String(this.resolver.resolve(name, stack)),
          Stage: this.resolver.ref(stack, stageId),
        };
      }
    }
    return undefined;
  }

  /**
   * Records one request to the prediction API as API Gateway counts it: Count, 4XXError and
   * 5XXError (0 or 1 each, so their Average is a rate) and Latency, by API name and stage.
   */
  recordApiRequest(status: number, latencyMs: number): void {
    const dims = this.apiDimensions;
    if (!dims) return;
    this.record('AWS/ApiGateway', 'Count', dims, 1);
    this.record('AWS/ApiGateway', '4XXError', dims, status >= 400 && status < 500 ? 1 : 0);
    this.record('AWS/ApiGateway', '5XXError', dims, status >= 500 ? 1 : 0);
    this.record('AWS/ApiGateway', 'Latency', dims, latencyMs, 'Milliseconds');
  }

  /**
   * Publishes to an SNS topic: the twin keeps the message (`GET /_twin/notifications`) and prints
   * it, or `shown` in its place (an alarm's JSON message is long).
   */
  publish(topicArn: string, message: string, subject?: string, shown: string = message): Notification {
    const n: Notification = {
      at: new Date().toISOString(),
      topicArn,
      message,
      ...(subject ? { subject } : {}),
    };
    this.notifications.push(n);
    this.log(`[operators] ${subject ? `${subject}: ` : ''}${shown}`);
    return n;
  }

  /** The state directory the twin keeps its state in, when it has one. */
  get stateDirectory(): string | undefined {
    return this.state?.dir;
  }

  /**
   * Stops the monitoring, waits for executions and invocations started without waiting, then ends
   * the functions and the services. An execution still running then (one a client is waiting for)
   * is recorded in the state directory as failed, cut off by the stop.
   */
  async stop(): Promise<void> {
    this.monitor?.stop();
    await this.settle().catch(() => {});
    this.journal?.close(this.executions.filter((e) => e.status === 'RUNNING'));
    await this.lambdaApi.stop();
    await this.functions?.stop();
    this.logs.flush();
    await this.sagemaker.stop();
    this.s3Client?.destroy();
    await this.dynamo?.stop();
    await this.s3?.close();
    if (this.state) releaseStateDir(this.state);
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The twin's services, as the functions and the twin's own clients reach them. */
  private services(): FunctionServices {
    return {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoints: {
        s3: this.endpoints.s3,
        dynamodb: this.endpoints.dynamodb,
        sagemaker: this.endpoints.sagemaker,
        sagemakerRuntime: this.endpoints.sagemaker,
        lambda: this.endpoints.lambda,
      },
    };
  }

  private started<T>(part: T | undefined): T {
    if (!part) throw new Error('The twin is not started: call start() first');
    return part;
  }

  private async createTables(): Promise<void> {
    const client = new DynamoDBClient(clientConfig('dynamodb', this.clientTarget()));
    for (const { stack, logicalId: id, props } of this.resolver.resources([
      'AWS::DynamoDB::Table',
      'AWS::DynamoDB::GlobalTable',
    ])) {
      const gsis = props.GlobalSecondaryIndexes as
        | CreateTableCommandInput['GlobalSecondaryIndexes']
        | undefined;
      await ignoreExisting(
        client.send(
          new CreateTableCommand({
            TableName: this.resolver.physicalName(stack, id),
            KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
            AttributeDefinitions:
              props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
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
        ),
      );
    }
    client.destroy();
  }

  /**
   * Gives up the training leases that executions cut off by a stop still hold: nothing runs them
   * any more, and the model's next training would otherwise be refused until the lease expires.
   */
  private async releaseLeasesOfStopped(history: readonly ExecutionRecord[]): Promise<void> {
    const stopped = history.filter(
      (r) =>
        r.error === TWIN_STOPPED_ERROR &&
        r.stateMachineArn === this.machineArnOf('training') &&
        typeof (r.input as { model?: unknown } | null)?.model === 'string',
    );
    const table = this.resolver.output(stackOutputs.registryTableName);
    if (stopped.length === 0 || !table) return;
    const db = makeDocumentClient(this.clientTarget());
    const leases = new DynamoLeases(db, table);
    try {
      for (const r of stopped) {
        const { model } = r.input as { model: string };
        if (await leases.release(model, TRAINING_LEASE, r.executionArn))
          this.log(
            `[twin] released the ${TRAINING_LEASE} lease of ${model}: its holder ${r.executionArn} was cut off by a stop`,
          );
      }
    } finally {
      db.destroy();
    }
  }

  /**
   * Ends the canary or shadow a promotion cut off by a stop had started: its catch, which ends them
   * when a step fails, never ran, and a stage left on the alias would take a share of traffic and
   * refuse every later promotion's canary or shadow.
   */
  private async endStagesOfStopped(history: readonly ExecutionRecord[]): Promise<void> {
    const stopped = history.filter(
      (r) =>
        r.error === TWIN_STOPPED_ERROR &&
        r.stateMachineArn === this.machineArnOf('promotion') &&
        typeof (r.input as { model?: unknown } | null)?.model === 'string' &&
        typeof (r.input as { version?: unknown }).version === 'number',
    );
    const table = this.resolver.output(stackOutputs.registryTableName);
    if (stopped.length === 0 || !table) return;
    const db = makeDocumentClient(this.clientTarget());
    const registry = new DynamoModelRegistry(db, table, systemClock);
    try {
      for (const r of stopped) {
        const { model, version } = r.input as { model: string; version: number };
        const alias = await registry.getAlias(model);
        const why = `its promotion ${r.executionArn} was cut off by a stop of the twin`;
        if (alias?.canary?.version === version) {
          await registry.endCanary(model, version, why);
          this.log(`[twin] ended the canary of ${model} v${version}: ${why}`);
        }
        if (alias?.shadow?.version === version) {
          await registry.endShadow(model, version, { outcome: 'cut off', reason: why });
          this.log(`[twin] ended the shadow of ${model} v${version}: ${why}`);
        }
      }
    } finally {
      db.destroy();
    }
  }

  /** A state machine's ARN by kind, read from the stack outputs (before the state machines are loaded). */
  private machineArnOf(kind: MachineKind): string | undefined {
    return this.resolver.output(stateMachineOutputs[kind]);
  }

  private async createBuckets(): Promise<void> {
    for (const { stack, logicalId: id } of this.resolver.resources('AWS::S3::Bucket')) {
      await ignoreExisting(
        this.s3Client!.send(new CreateBucketCommand({ Bucket: this.resolver.physicalName(stack, id) })),
      );
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
        await ignoreExisting(this.s3Client!.send(new CreateBucketCommand({ Bucket: bucket })));
        created.add(bucket);
      }
      await this.store(bucket).put(asset.objectKey, readFileSync(asset.path));
    }
  }

  /** An object store on any local bucket. */
  store(bucket: string): ObjectStore {
    return new S3ObjectStore(this.s3Client!, bucket);
  }

  /** A function by ARN or physical name. */
  private findFunction(fnArnOrName: string): LocalFunction {
    const functions = this.started(this.functions);
    const fn = functions.find(fnArnOrName);
    if (!fn) throw new Error(`The twin has no function ${fnArnOrName}`);
    return fn;
  }

  /**
   * Invokes a function by ARN or name the way Lambda does: in its own instance, with its own
   * environment; records AWS/Lambda Invocations, Errors and Duration by function name.
   */
  async invoke(fnArnOrName: string, event: unknown): Promise<unknown> {
    const fn = this.findFunction(fnArnOrName);
    const dims = { FunctionName: fn.name };
    const started = Date.now();
    let failed = false;
    try {
      return await this.started(this.functions).invoke(fn, event);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      this.record('AWS/Lambda', 'Invocations', dims, 1);
      this.record('AWS/Lambda', 'Errors', dims, failed ? 1 : 0);
      this.record('AWS/Lambda', 'Duration', dims, Date.now() - started, 'Milliseconds');
    }
  }

  /**
   * The environment a function runs with (`process.env` inside its instance, which this starts if
   * it is not running): its template's variables, what the Lambda runtime sets and the twin's endpoints.
   */
  async functionEnvironment(fnArnOrName: string): Promise<Record<string, string>> {
    return this.started(this.functions).instanceEnvironment(this.findFunction(fnArnOrName));
  }

  /**
   * A function (by ARN, physical name or logical id) as the twin runs it, and the environment an
   * instance of it has: for running its bundle in a process of its own against the twin's services.
   */
  functionLaunch(key: string): { fn: LocalFunction; env: Record<string, string> } {
    const functions = this.started(this.functions);
    const fn = functions.find(key) ?? functions.list().find((f) => f.logicalId === key);
    if (!fn) throw new Error(`The twin has no function ${key}`);
    return { fn, env: functions.environment(fn) };
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

  /** The first function whose template sets `envKey` (to `value`, when given). */
  functionArnByEnv(envKey: string, value?: string): string | undefined {
    for (const fn of this.started(this.functions).list())
      if (envKey in fn.env && (value === undefined || fn.env[envKey] === value)) return fn.arn;
    return undefined;
  }

  /** The function of a `lambdas/` directory (its Powertools service name). */
  functionArnByService(service: string): string | undefined {
    return this.functionArnByEnv('POWERTOOLS_SERVICE_NAME', service);
  }

  /**
   * Every state machine of the assembly, by ARN, with its definition substitutions applied; the
   * three an operator starts are also known by kind, through the stack outputs naming them.
   */
  private loadStateMachines(): StateMachineDefinition[] {
    for (const [kind, outputId] of Object.entries(stateMachineOutputs) as [MachineKind, string][]) {
      const arn = this.resolver.output(outputId);
      if (!arn) throw new Error(`The assembly has no ${outputId} output`);
      const found = this.resolver.lookup(arn);
      if (found?.stack.Resources[found.logicalId]?.Type !== 'AWS::StepFunctions::StateMachine')
        throw new Error(`Output ${outputId} does not point at a state machine`);
      this.machineArns.set(kind, arn);
    }
    const kinds = new Map([...this.machineArns].map(([kind, arn]) => [arn, kind]));
    const machines: StateMachineDefinition[] = [];
    for (const stack of this.assembly.stacks) {
      for (const [id, res] of Object.entries(stack.Resources)) {
        if (res.Type !== 'AWS::StepFunctions::StateMachine') continue;
        const arn = this.resolver.arn(stack, id);
        const kind = kinds.get(arn);
        machines.push({ arn, definition: this.definition(stack, id), ...(kind ? { kind } : {}) });
      }
    }
    return machines;
  }

  /** A state machine's ASL, from its DefinitionString or its definition asset, substitutions applied. */
  private definition(stack: StackTemplate, logicalId: string): Record<string, unknown> {
    const props = stack.Resources[logicalId]!.Properties ?? {};
    let text: string;
    if (props.DefinitionString !== undefined) {
      text = String(this.resolver.resolve(props.DefinitionString, stack));
    } else {
      const key = String(this.resolver.resolve((props.DefinitionS3Location as { Key: unknown }).Key, stack));
      const asset = this.assembly.fileAssets.find((a) => a.objectKey === key);
      if (!asset) throw new Error(`No asset holds the definition ${key} of state machine ${logicalId}`);
      text = readFileSync(asset.path, 'utf8');
    }
    const subs = this.resolver.resolve(props.DefinitionSubstitutions ?? {}, stack) as Record<string, string>;
    text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, k: string) => (k in subs ? String(subs[k]) : m));
    return JSON.parse(text) as Record<string, unknown>;
  }

  stateMachineArn(kind: MachineKind): string {
    const arn = this.machineArns.get(kind);
    if (!arn)
      throw new Error(
        `Unknown state machine "${kind}" (known: ${Object.keys(stateMachineOutputs).join(', ')})`,
      );
    return arn;
  }

  /** Every execution, in the order they started (those other executions started included). */
  get executions(): readonly ExecutionRecord[] {
    return this.stepFunctions?.executions ?? [];
  }

  /**
   * Waits for every execution started without waiting (by another execution, by a rule) and every
   * asynchronous invocation (a rule's function target), including those they start; returns the
   * executions' records.
   */
  async settle(): Promise<ExecutionRecord[]> {
    const done: ExecutionRecord[] = [];
    for (;;) {
      if (this.stepFunctions) done.push(...(await this.stepFunctions.settle()));
      if (this.asyncInvocations.size === 0) return done;
      await Promise.all([...this.asyncInvocations]);
    }
  }

  /** Runs one execution of a state machine to its end; `onEvent` sees each state as it happens. */
  async execute(
    kind: MachineKind,
    input: unknown,
    onEvent: (e: ExecutionEvent) => void = () => {},
  ): Promise<ExecutionRecord> {
    return this.started(this.stepFunctions).execute(this.stateMachineArn(kind), input, onEvent);
  }

  /** Runs the Task resources that are not Step Functions' own. */
  private taskRunner(stateName: string, resource: string): TaskRunner {
    if (resource === 'arn:aws:states:::lambda:invoke') {
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        return { Payload: await this.invoke(FunctionName, Payload), StatusCode: 200 };
      };
    }
    if (resource === 'arn:aws:states:::sagemaker:createTrainingJob.sync') {
      return (input) => runTrainingJob(input as CreateTrainingJobRequest, (b) => this.store(b), this.log);
    }
    if (resource === 'arn:aws:states:::sns:publish') {
      return async (input) => {
        const { TopicArn, Subject, Message } = input as {
          TopicArn: string;
          Subject?: string;
          Message: string;
        };
        this.publish(TopicArn, String(Message), Subject);
        return { MessageId: randomUUID() };
      };
    }
    return async () => {
      throw new Error(`The local twin does not emulate the task resource ${resource} (state ${stateName})`);
    };
  }
}

/**
 * Creates a table or bucket unless it exists: a twin started on its state directory finds those
 * it made before, with what they hold, and keeps them.
 */
async function ignoreExisting(creating: Promise<unknown>): Promise<void> {
  try {
    await creating;
  } catch (err) {
    if (err instanceof ResourceInUseException) return;
    if (
      err instanceof S3ServiceException &&
      (err.name === 'BucketAlreadyExists' || err.name === 'BucketAlreadyOwnedByYou')
    )
      return;
    throw err;
  }
}
