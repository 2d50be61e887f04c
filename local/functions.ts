/**
 * The platform's Lambda functions in the twin, run as Lambda runs them: the bundle `cdk deploy`
 * uploads, in an instance of its own (a worker thread) whose environment is exactly the function's
 * template environment plus what the Lambda runtime sets (region, credentials, the function's name,
 * memory and log group, ...) and the twin's loopback endpoints (`AWS_ENDPOINT_URL_<SERVICE>`, which
 * the SDK clients read). So a function sees no other function's variables, and a binding its
 * template lacks fails locally as it fails in Lambda. The twin's own process environment is left
 * alone.
 *
 * An instance starts at a function's first invocation and serves the later ones. There is one
 * instance per function: concurrent invocations share it (Lambda would start more instances), so
 * module-level state is shared between them as it is between invocations that follow each other
 * on one Lambda instance. An instance whose init fails (its module throws at import) serves no
 * further invocation, and one that exits is replaced, as Lambda replaces them; `stop()` ends all.
 *
 * Stdout and stderr of each instance go to the twin's {@link LogCapture} (log and EMF lines) or,
 * for any other line, to the twin's own stdout and stderr; an instance sends what it wrote with each
 * result, so an invocation's lines are taken before its result is. Errors reach the caller with the name
 * and message the handler threw (Step Functions' Retry and Catch match on the name); results are
 * structured-cloned. Not emulated: the function's timeout as a hard stop (the context reports the
 * template's timeout, and middy's early timeout uses it), memory limits, concurrency limits,
 * layers and extensions.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LogCapture } from './log-capture.ts';
import type { Assembly, Resolver } from './template.ts';

/** A function of the assembly, as the twin runs it. */
export interface LocalFunction {
  readonly arn: string;
  /** Its physical name (the ARN's last part). */
  readonly name: string;
  readonly logicalId: string;
  /** The bundle directory in the assembly. */
  readonly dir: string;
  /** The module the template's `Handler` names. */
  readonly entry: string;
  /** The template's `Handler`, e.g. `index.handler`. */
  readonly handler: string;
  /** The template's environment variables, resolved. */
  readonly env: Readonly<Record<string, string>>;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** The template's runtime, e.g. `nodejs22.x`. */
  readonly runtime: string;
}

/** Where the functions' SDK clients reach the twin, and as whom. */
export interface FunctionServices {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly endpoints: {
    readonly s3: string;
    readonly dynamodb: string;
    readonly sagemaker: string;
    readonly sagemakerRuntime: string;
    readonly lambda: string;
  };
}

/** Lambda's defaults when a template leaves memory and timeout out. */
const DEFAULT_MEMORY_MB = 128;
const DEFAULT_TIMEOUT_SECONDS = 3;

/** Reads every Node.js function of the assembly whose bundle is in it. */
export function readFunctions(assembly: Assembly, resolver: Resolver): LocalFunction[] {
  const functions: LocalFunction[] = [];
  for (const stack of assembly.stacks) {
    for (const [logicalId, res] of Object.entries(stack.Resources)) {
      if (res.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = res.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') continue;
      const props = res.Properties ?? {};
      const dir = join(assembly.dir, assetPath);
      const handler = String(props.Handler ?? 'index.handler');
      const base = handler.slice(0, handler.lastIndexOf('.'));
      const entry = ['.mjs', '.js', '.cjs'].map((ext) => join(dir, base + ext)).find((p) => existsSync(p));
      if (!entry) continue;
      const vars = resolver.resolve(
        (props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
        stack,
      ) as Record<string, unknown>;
      functions.push({
        arn: resolver.arn(stack, logicalId),
        name: resolver.physicalName(stack, logicalId),
        logicalId,
        dir,
        entry,
        handler,
        env: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])),
        memoryMb: Number(props.MemorySize ?? DEFAULT_MEMORY_MB),
        timeoutSeconds: Number(props.Timeout ?? DEFAULT_TIMEOUT_SECONDS),
        runtime: String(props.Runtime ?? 'nodejs22.x'),
      });
    }
  }
  return functions;
}

/**
 * The environment of a function's instance: its template's variables, then what the Lambda
 * runtime sets (these names are reserved in Lambda, so a template cannot override them), then the
 * twin's endpoints.
 */
export function functionEnvironment(fn: LocalFunction, services: FunctionServices): Record<string, string> {
  return {
    ...fn.env,
    AWS_REGION: services.region,
    AWS_DEFAULT_REGION: services.region,
    AWS_ACCESS_KEY_ID: services.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: services.credentials.secretAccessKey,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: logGroupName(fn),
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(fn),
    LAMBDA_TASK_ROOT: fn.dir,
    _HANDLER: fn.handler,
    LANG: 'en_US.UTF-8',
    AWS_ENDPOINT_URL_S3: services.endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: services.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SAGEMAKER: services.endpoints.sagemaker,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: services.endpoints.sagemakerRuntime,
    AWS_ENDPOINT_URL_LAMBDA: services.endpoints.lambda,
    // The SDK warns when the Node running it is older than it supports: that is the twin's host,
    // not the function, which runs on its template's runtime in Lambda.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * What an instance needs to load the bundle and build each invocation's context: the module and its
 * export, the function's names, memory and timeout, and its log group and stream.
 */
export function instanceData(fn: LocalFunction, env: Record<string, string>) {
  return {
    entry: pathToFileURL(fn.entry).href,
    handlerExport: fn.handler.slice(fn.handler.lastIndexOf('.') + 1),
    handler: fn.handler,
    functionName: fn.name,
    functionArn: fn.arn,
    memoryMb: fn.memoryMb,
    timeoutMs: fn.timeoutSeconds * 1000,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? logGroupName(fn),
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? logStreamName(fn),
  };
}

function logGroupName(fn: LocalFunction): string {
  return `/aws/lambda/${fn.name}`;
}

function logStreamName(fn: LocalFunction): string {
  return `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${fn.logicalId}`;
}

/** An error a function threw, as its instance reports it. */
interface ReportedError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
}

/** What an instance wrote to stdout and stderr since its last message. */
interface HeldOutput {
  stdout: string;
  stderr: string;
}

type FromWorker =
  | { type: 'result'; id: number; ok: true; value: unknown; output?: HeldOutput }
  | { type: 'result'; id: number; ok: false; init?: boolean; error: ReportedError; output?: HeldOutput }
  | { type: 'environment'; id: number; env: Record<string, string> }
  | { type: 'output'; id?: undefined; output: HeldOutput };

/** The error the caller sees: the handler's name, message and stack, and its other fields. */
function rebuildError(reported: ReportedError): Error {
  const err = new Error(reported.message);
  err.name = reported.name;
  if (reported.stack) err.stack = reported.stack;
  return Object.assign(err, reported.fields);
}

/** A function's instance: its worker and the calls waiting for an answer from it. */
class FunctionInstance {
  readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (m: FromWorker) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  /** Set once the instance takes no more invocations. */
  retired = false;

  constructor(
    readonly fn: LocalFunction,
    env: Record<string, string>,
    logs: LogCapture,
    private readonly onGone: (instance: FunctionInstance) => void,
  ) {
    this.worker = new Worker(new URL('./function-worker.mjs', import.meta.url), {
      env,
      // A function starts as a fresh Node, not with the twin's loader or flags.
      execArgv: [],
      stdout: true,
      stderr: true,
      workerData: instanceData(fn, env),
    });
    // The instance sends its output with each result (local/function-worker.mjs); the streams carry
    // only what bypasses it.
    const stdout = logs.reader(process.stdout);
    const stderr = logs.reader(process.stderr);
    logs.attach(this.worker.stdout, process.stdout);
    logs.attach(this.worker.stderr, process.stderr);
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'output' || m.type === 'result') {
        if (m.output?.stdout) stdout(m.output.stdout);
        if (m.output?.stderr) stderr(m.output.stderr);
        if (m.type === 'output') return;
      }
      const call = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      call?.resolve(m);
      if (m.type === 'result' && !m.ok && m.init) this.retire();
      this.endIfIdle();
    });
    // An uncaught exception or unhandled rejection ends the instance, as it ends a Lambda instance.
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      stdout('', true);
      stderr('', true);
      const err = new Error(`Function ${fn.name} exited with code ${code} before it answered.`);
      err.name = 'Runtime.ExitError';
      this.fail(err);
    });
  }

  /** Sends a message and waits for the instance's answer to it. */
  request(message: Record<string, unknown>): Promise<FromWorker> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  /** Takes no new invocations; ends once the ones it has are answered. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.onGone(this);
  }

  async terminate(): Promise<void> {
    this.retire();
    await this.worker.terminate();
  }

  private endIfIdle(): void {
    if (this.retired && this.waiting.size === 0) void this.worker.terminate();
  }

  private fail(err: Error): void {
    this.retire();
    for (const call of this.waiting.values()) call.reject(err);
    this.waiting.clear();
  }
}

/** The assembly's functions, each invoked in an instance of its own. */
export class LocalFunctions {
  private readonly byArn = new Map<string, LocalFunction>();
  private readonly instances = new Map<string, FunctionInstance>();

  constructor(
    functions: LocalFunction[],
    /** Where the functions' clients connect; read when an instance starts. */
    private readonly services: () => FunctionServices,
    private readonly logs: LogCapture,
  ) {
    for (const fn of functions) this.byArn.set(fn.arn, fn);
  }

  /** Every function, in template order. */
  list(): LocalFunction[] {
    return [...this.byArn.values()];
  }

  /** A function by its ARN or physical name. */
  find(arnOrName: string): LocalFunction | undefined {
    return this.byArn.get(arnOrName) ?? this.list().find((fn) => fn.name === arnOrName);
  }

  /** The environment a function's instance runs with. */
  environment(fn: LocalFunction): Record<string, string> {
    return functionEnvironment(fn, this.services());
  }

  /** Invokes a function with an event; resolves to its result, or rejects with the error it threw. */
  async invoke(fn: LocalFunction, event: unknown): Promise<unknown> {
    const answer = await this.instance(fn).request({ type: 'invoke', event, requestId: randomUUID() });
    if (answer.type !== 'result')
      throw new Error(`Function ${fn.name} answered an invocation with ${answer.type}`);
    if (!answer.ok) throw rebuildError(answer.error);
    return answer.value;
  }

  /** The environment a function's running instance sees (`process.env` inside it); starts it if needed. */
  async instanceEnvironment(fn: LocalFunction): Promise<Record<string, string>> {
    const answer = await this.instance(fn).request({ type: 'environment' });
    if (answer.type !== 'environment') throw new Error(`Function ${fn.name} did not report its environment`);
    return answer.env;
  }

  /** Ends every instance; invocations still running are rejected. */
  async stop(): Promise<void> {
    const running = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(running.map((i) => i.terminate()));
  }

  private instance(fn: LocalFunction): FunctionInstance {
    let instance = this.instances.get(fn.arn);
    if (!instance) {
      instance = new FunctionInstance(fn, this.environment(fn), this.logs, (gone) => {
        if (this.instances.get(fn.arn) === gone) this.instances.delete(fn.arn);
      });
      this.instances.set(fn.arn, instance);
    }
    return instance;
  }
}
