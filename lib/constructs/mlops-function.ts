import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type FunctionEnv, type FunctionName, functionEnv } from '../../contracts/env.ts';
import type { LakeZone } from '../../contracts/lake.ts';
import { metricNamespace } from '../../contracts/metrics.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import { environmentProblems } from '../function-environment.ts';
import { acknowledgeWildcards } from '../nag.ts';
import { PROJECT_ROOT } from '../paths.ts';
import type { DataLake } from './data-lake.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import type { ModelRegistry, RegistryOperation } from './model-registry.ts';
import type { PredictionLog } from './prediction-log.ts';

/** Settings every platform function shares; constructs that create functions pass them through. */
export interface FunctionSettings {
  /** The platform stage (`MLOPS_STAGE`, and the metrics namespace `metricNamespace(stage)`). */
  readonly stage: string;
  /**
   * The deployed model definitions. Functions that opt in ({@link MlopsFunctionProps.includeModelDefinitions})
   * get them compiled into their bundle; the others get at most their names from their construct.
   */
  readonly models: readonly ModelDefinition[];
  /** Key that encrypts the function log groups. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * What happens to the log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Bundle source maps with each function and start Node with `--enable-source-maps`, so stack traces
   * name source files and lines. Off, the bundles are smaller and cold starts faster.
   * @default false
   */
  readonly sourceMaps?: boolean;
  /**
   * Repository root holding `lambdas/` and `package-lock.json`.
   * @default the root of this repository
   */
  readonly projectRoot?: string;
}

/** A variable of function `F`'s environment schema (`contracts/env.ts`). */
export type EnvVar<F extends FunctionName> = F extends FunctionName
  ? Extract<keyof FunctionEnv<F>, string>
  : never;

/** The functions whose environment schema declares variable `V`. */
export type FunctionsWith<V extends string> = {
  [F in FunctionName]: V extends EnvVar<F> ? F : never;
}[FunctionName];

/** Properties of an {@link MlopsFunction}. */
export interface MlopsFunctionProps<F extends FunctionName> extends FunctionSettings {
  /**
   * The function, by its directory under `lambdas/` (entry `lambdas/<name>/handler.ts`, export
   * `handler`); its environment schema in `contracts/env.ts` says which variables it may and must get.
   */
  readonly name: F;
  /**
   * Memory in MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Maximum run time.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Variables of the function's schema that no `bind*()` call sets.
   * @default - only the common variables and those of the `bind*()` calls
   */
  readonly environment?: { readonly [K in EnvVar<F>]?: string };
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Description of the function.
   * @default - none
   */
  readonly description?: string;
  /**
   * Compile every model definition into the bundle (`__MLOPS_MODELS_B64__`), for functions that need
   * the full definitions of all deployed models, not one read from the lake or the registry.
   * @default false
   */
  readonly includeModelDefinitions?: boolean;
  /**
   * Build-time constants for the bundle (esbuild `define`), each a JSON literal. Code under a
   * constant that is false for this function is left out of its bundle.
   * @default - none besides the model definitions, when included
   */
  readonly bundleConstants?: Record<string, string>;
}

/** Access a function gets to the lake: reading objects, or writing them (no function deletes any). */
export type LakeAccess = 'read' | 'put';

const NAME = /^[a-z][a-z0-9-]{0,47}$/;

function validate(props: MlopsFunctionProps<FunctionName>, root: string): void {
  if (!NAME.test(props.name) || !Object.hasOwn(functionEnv, props.name)) {
    throw new Error(
      `MlopsFunction name: "${props.name}" is not a platform function; add its environment schema to ` +
        `functionEnv in contracts/env.ts (functions: ${Object.keys(functionEnv).join(', ')})`,
    );
  }
  const entry = join(root, 'lambdas', props.name, 'handler.ts');
  if (!existsSync(entry)) {
    throw new Error(`MlopsFunction name: no handler at lambdas/${props.name}/handler.ts (looked in ${root})`);
  }
  const memory = props.memorySize ?? 512;
  if (!Number.isInteger(memory) || memory < 128 || memory > 10240) {
    throw new Error(
      `MlopsFunction memorySize: must be a whole number of MB between 128 and 10240, got ${memory}`,
    );
  }
  const seconds = (props.timeout ?? Duration.seconds(30)).toSeconds();
  if (seconds < 1 || seconds > 900) {
    throw new Error(`MlopsFunction timeout: must be between 1 and 900 seconds, got ${seconds}`);
  }
  for (const key of Object.keys(props.environment ?? {})) assertDeclared(props.name, key);
}

function assertDeclared(fn: FunctionName, key: string): void {
  if (!Object.hasOwn(functionEnv[fn].def.shape, key)) {
    throw new Error(
      `MlopsFunction ${fn}: ${key} is not in its environment schema (contracts/env.ts declares: ` +
        `${Object.keys(functionEnv[fn].def.shape).join(', ')})`,
    );
  }
}

/**
 * A platform Lambda function: Node.js 22 on arm64, bundled locally by esbuild as ESM, X-Ray tracing, an
 * encrypted log group with retention, and a role that only gets what its `bind*` and `grant*` calls give
 * it (no managed policies).
 *
 * Its environment is the one its schema in `contracts/env.ts` declares: {@link addEnvironment} and the
 * `environment` prop take only the schema's variables (a compile-time error otherwise, and a construction
 * error for callers that bypass the types), `bind*()` exists only for functions whose schema has the
 * variable it sets, and synthesis fails, naming the function and the variable, when a required variable
 * is missing or a literal value does not parse.
 */
export class MlopsFunction<F extends FunctionName = FunctionName> extends nodejs.NodejsFunction {
  /** The function's execution role. */
  public readonly executionRole: iam.Role;
  /** The `lambdas/` directory name, the key of its environment schema. */
  public readonly handlerName: F;

  constructor(scope: Construct, id: string, props: MlopsFunctionProps<F>) {
    const root = props.projectRoot ?? PROJECT_ROOT;
    validate(props, root);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const sourceMaps = props.sourceMaps ?? false;
    // Created beside the function (not inside it) because they must exist before `super()`.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy,
    });
    const define: Record<string, string> = { ...props.bundleConstants };
    if (props.includeModelDefinitions) {
      define.__MLOPS_MODELS_B64__ = JSON.stringify(
        Buffer.from(JSON.stringify(props.models)).toString('base64'),
      );
    }

    super(scope, id, {
      entry: join(root, 'lambdas', props.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      description: props.description,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.name,
        POWERTOOLS_METRICS_NAMESPACE: metricNamespace(props.stage),
        MLOPS_STAGE: props.stage,
        ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...(props.environment as Record<string, string> | undefined),
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // The SDK is bundled at the lockfile's versions instead of taken from the runtime, so a
        // function behaves the same in Lambda and in the local twin, whatever the runtime ships.
        // protobufjs is left out: @datadog/sketches-js (the two-pass prepare's quantile sketch)
        // requires it only inside its protobuf (de)serialisation, which no function calls, and does
        // not declare it as a dependency, so it is not installed.
        externalModules: ['protobufjs/minimal'],
        minify: true,
        sourceMap: sourceMaps,
        logLevel: nodejs.LogLevel.WARNING,
        define,
      },
    });
    this.executionRole = role;
    this.handlerName = props.name;
    logGroup.grantWrite(role);
    this.node.addValidation({ validate: () => this.environmentProblems() });

    acknowledgeWildcards(
      this,
      ['Resource::*'],
      'X-Ray PutTraceSegments/PutTelemetryRecords (added by active tracing) do not support resource-level permissions.',
    );
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The platform pins nodejs22.x: handlers are bundled with target node22 and tested on the Node 22 line; ' +
        'moving to a newer runtime is a deliberate upgrade, not a drift.',
    });
  }

  /**
   * Sets a variable of the function's environment schema. A variable the schema does not declare is a
   * type error, and an error here when the types are bypassed.
   */
  public override addEnvironment(key: EnvVar<F>, value: string, options?: lambda.EnvironmentOptions): this {
    // `handlerName` is unset while the base constructor adds its own variables.
    if (this.handlerName !== undefined) assertDeclared(this.handlerName, key);
    return super.addEnvironment(key, value, options);
  }

  /** Sets `LAKE_BUCKET` and grants access to the lake (to one zone, or to all of it). */
  public bindLake<T extends MlopsFunction<FunctionsWith<'LAKE_BUCKET'>>>(
    this: T,
    lake: DataLake,
    access: LakeAccess,
    ...zones: LakeZone[]
  ): T {
    this.addEnvironment('LAKE_BUCKET', lake.bucket.bucketName);
    const targets: (LakeZone | undefined)[] = zones.length > 0 ? zones : [undefined];
    for (const zone of targets) {
      if (access === 'put') lake.grantPut(this, zone);
      else lake.grantRead(this, zone);
    }
    return this;
  }

  /**
   * Sets `REGISTRY_TABLE` and grants the registry operations the function performs (see
   * {@link ModelRegistry.grant}): `GetItem` and `Query` to read, `PutItem` to write write-once items
   * (versions, evidence, audit, the alias replaced under its condition), `UpdateItem` where a status,
   * a canary or the version counter moves.
   */
  public bindRegistry<T extends MlopsFunction<FunctionsWith<'REGISTRY_TABLE'>>>(
    this: T,
    registry: ModelRegistry,
    ...operations: RegistryOperation[]
  ): T {
    this.addEnvironment('REGISTRY_TABLE', registry.table.tableName);
    registry.grant(this, ...operations);
    return this;
  }

  /**
   * Sets `REGISTRY_TABLE` and grants what taking and giving up a lease on the registry table needs, and
   * no more (see {@link ModelRegistry.grantLeases}): GetItem, PutItem (the lease, and the audit item of
   * taking it) and DeleteItem of lease items only; no Query, Scan or UpdateItem.
   */
  public bindLeases<T extends MlopsFunction<FunctionsWith<'REGISTRY_TABLE'>>>(
    this: T,
    registry: ModelRegistry,
  ): T {
    this.addEnvironment('REGISTRY_TABLE', registry.table.tableName);
    registry.grantLeases(this);
    return this;
  }

  /** Sets `PREDICTION_LOG_TABLE` and grants reading the prediction log. */
  public bindPredictionLogReader<T extends MlopsFunction<FunctionsWith<'PREDICTION_LOG_TABLE'>>>(
    this: T,
    log: PredictionLog,
  ): T {
    this.addEnvironment('PREDICTION_LOG_TABLE', log.table.tableName);
    this.addEnvironment('PREDICTION_LOG_SHARDS', String(log.shards));
    log.grantReadData(this);
    return this;
  }

  /**
   * Sets `PREDICTION_LOG_TABLE` and `PREDICTION_LOG_TTL_DAYS` and grants writing the prediction log.
   * @param ttlDays days a row is kept before the table's TTL deletes it
   */
  public bindPredictionLogWriter<T extends MlopsFunction<FunctionsWith<'PREDICTION_LOG_TTL_DAYS'>>>(
    this: T,
    log: PredictionLog,
    ttlDays: number,
  ): T {
    if (!Number.isInteger(ttlDays) || ttlDays < 1) {
      throw new Error(
        `MlopsFunction ${this.handlerName} ttlDays: must be a positive whole number, got ${ttlDays}`,
      );
    }
    this.addEnvironment('PREDICTION_LOG_TABLE', log.table.tableName);
    this.addEnvironment('PREDICTION_LOG_TTL_DAYS', String(ttlDays));
    this.addEnvironment('PREDICTION_LOG_SHARDS', String(log.shards));
    log.grantWriteData(this);
    return this;
  }

  /**
   * Sets `IDEMPOTENCY_TABLE` and `IDEMPOTENCY_TTL_SECONDS` and grants what keeping answers needs
   * (GetItem, PutItem, UpdateItem and DeleteItem on that table only).
   * @param ttlSeconds how long an answer is kept for a retry with the same key
   */
  public bindIdempotencyStore<T extends MlopsFunction<FunctionsWith<'IDEMPOTENCY_TABLE'>>>(
    this: T,
    store: IdempotencyStore,
    ttlSeconds: number,
  ): T {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new Error(
        `MlopsFunction ${this.handlerName} ttlSeconds: must be a positive whole number, got ${ttlSeconds}`,
      );
    }
    this.addEnvironment('IDEMPOTENCY_TABLE', store.table.tableName);
    this.addEnvironment('IDEMPOTENCY_TTL_SECONDS', String(ttlSeconds));
    store.grantIdempotency(this);
    return this;
  }

  /** The environment as the template will hold it, checked against the function's schema. */
  private environmentProblems(): string[] {
    const cfn = this.node.defaultChild as lambda.CfnFunction;
    const rendered = Stack.of(this).resolve(cfn.environment) as
      | { variables?: Record<string, unknown> }
      | undefined;
    return environmentProblems(this.handlerName, rendered?.variables ?? {}).map(
      (problem) =>
        `Function ${this.handlerName}: ${problem}. Its construct sets the variables its schema in ` +
        'contracts/env.ts declares (bind*(), environment, addEnvironment).',
    );
  }
}
