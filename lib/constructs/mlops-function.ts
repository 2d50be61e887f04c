import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { LakeZone } from '../../contracts/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import { acknowledgeWildcards } from '../nag.ts';
import { PROJECT_ROOT } from '../paths.ts';
import type { DataLake } from './data-lake.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { PredictionLog } from './prediction-log.ts';

/** Settings every platform function shares; constructs that create functions pass them through. */
export interface FunctionSettings {
  /** The platform stage (`MLOPS_STAGE`, and the metrics namespace `Mlops/<stage>`). */
  readonly stage: string;
  /** The model definitions, compiled into each bundle. */
  readonly models: readonly ModelDefinition[];
  /** Key that encrypts the function log groups. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * What happens to the log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Repository root holding `lambdas/` and `package-lock.json`.
   * @default the root of this repository
   */
  readonly projectRoot?: string;
}

/** Properties of an {@link MlopsFunction}. */
export interface MlopsFunctionProps extends FunctionSettings {
  /** Directory under `lambdas/`; the entry is `lambdas/<name>/handler.ts`, export `handler`. */
  readonly name: string;
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
   * Extra environment variables.
   * @default - only the common variables
   */
  readonly environment?: Record<string, string>;
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
   * Build-time constants for the bundle (esbuild `define`), each a JSON literal. Code under a
   * constant that is false for this function is left out of its bundle.
   * @default - only the model definitions
   */
  readonly bundleConstants?: Record<string, string>;
}

/** Access a function gets to the lake. */
export type LakeAccess = 'read' | 'readWrite';
/** Access a function gets to the registry. */
export type RegistryAccess = 'read' | 'readWrite';
/** Access a function gets to the prediction log. */
export type PredictionLogAccess = 'read' | 'write';

const NAME = /^[a-z][a-z0-9-]{0,47}$/;

function validate(props: MlopsFunctionProps, root: string): void {
  if (!NAME.test(props.name)) {
    throw new Error(
      `MlopsFunction name: "${props.name}" must be a lambdas/ directory name (lower-case, digits, -)`,
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
}

/**
 * A platform Lambda function: Node.js 22 on arm64, bundled locally by esbuild as ESM with source maps,
 * X-Ray tracing, an encrypted log group with retention, and a role that only gets what its `bind*` and
 * `grant*` calls give it (no managed policies).
 */
export class MlopsFunction extends nodejs.NodejsFunction {
  /** The function's execution role. */
  public readonly executionRole: iam.Role;
  /** The `lambdas/` directory name. */
  public readonly handlerName: string;

  constructor(scope: Construct, id: string, props: MlopsFunctionProps) {
    const root = props.projectRoot ?? PROJECT_ROOT;
    validate(props, root);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
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
    const modelsB64 = Buffer.from(JSON.stringify(props.models)).toString('base64');

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
        POWERTOOLS_METRICS_NAMESPACE: `Mlops/${props.stage}`,
        MLOPS_STAGE: props.stage,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // The SDK is bundled at the lockfile's versions instead of taken from the runtime, so a
        // function behaves the same in Lambda and in the local twin, whatever the runtime ships.
        externalModules: [],
        minify: true,
        sourceMap: true,
        logLevel: nodejs.LogLevel.WARNING,
        define: { __MLOPS_MODELS_B64__: JSON.stringify(modelsB64), ...props.bundleConstants },
      },
    });
    this.executionRole = role;
    this.handlerName = props.name;
    logGroup.grantWrite(role);

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

  /** Sets `LAKE_BUCKET` and grants access to the lake (to one zone, or to all of it). */
  public bindLake(lake: DataLake, access: LakeAccess, ...zones: LakeZone[]): this {
    this.addEnvironment('LAKE_BUCKET', lake.bucket.bucketName);
    const targets: (LakeZone | undefined)[] = zones.length > 0 ? zones : [undefined];
    for (const zone of targets) {
      if (access === 'readWrite') lake.grantReadWrite(this, zone);
      else lake.grantRead(this, zone);
    }
    return this;
  }

  /** Sets `REGISTRY_TABLE` and grants access to the model registry. */
  public bindRegistry(registry: ModelRegistry, access: RegistryAccess): this {
    this.addEnvironment('REGISTRY_TABLE', registry.table.tableName);
    if (access === 'readWrite') registry.grantReadWriteData(this);
    else registry.grantReadData(this);
    return this;
  }

  /** Sets `PREDICTION_LOG_TABLE` and grants access to the prediction log. */
  public bindPredictionLog(log: PredictionLog, access: PredictionLogAccess): this {
    this.addEnvironment('PREDICTION_LOG_TABLE', log.table.tableName);
    if (access === 'write') log.grantWriteData(this);
    else log.grantReadData(this);
    return this;
  }
}
