/**
 * Reads a synthesized cloud assembly and resolves the CloudFormation intrinsics the platform's
 * templates use, giving every resource a local physical name. Only the intrinsics CDK emits for
 * this app are handled; anything else is an error naming it, so a new one is noticed at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface StackTemplate {
  stackName: string;
  templateFile: string;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Mappings?: Record<string, Record<string, Record<string, string>>>;
}

export interface FileAsset {
  /** Absolute path of the asset in the assembly. */
  path: string;
  packaging: string;
  bucketName: unknown;
  objectKey: string;
}

export interface Assembly {
  dir: string;
  stacks: StackTemplate[];
  fileAssets: FileAsset[];
}

/** Loads every stack template and file asset listed in an assembly's manifest. */
export function readAssembly(dir: string): Assembly {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string; file?: string } }>;
  };
  const stacks: StackTemplate[] = [];
  const fileAssets: FileAsset[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      const templateFile = join(dir, artifact.properties.templateFile);
      const t = JSON.parse(readFileSync(templateFile, 'utf8')) as Omit<
        StackTemplate,
        'stackName' | 'templateFile'
      >;
      stacks.push({ ...t, Resources: t.Resources ?? {}, stackName: id, templateFile });
    }
    if (artifact.type === 'cdk:asset-manifest' && artifact.properties?.file) {
      const assets = JSON.parse(readFileSync(join(dir, artifact.properties.file), 'utf8')) as {
        files?: Record<
          string,
          {
            source: { path: string; packaging: string };
            destinations: Record<string, { bucketName: unknown; objectKey: string }>;
          }
        >;
      };
      for (const file of Object.values(assets.files ?? {})) {
        for (const dest of Object.values(file.destinations)) {
          fileAssets.push({
            path: join(dir, file.source.path),
            packaging: file.source.packaging,
            bucketName: dest.bucketName,
            objectKey: dest.objectKey,
          });
        }
      }
    }
  }
  return { dir, stacks, fileAssets };
}

/** The property holding the name a template may give a resource, where `Ref` returns that name. */
const GIVEN_NAMES: Record<string, string> = {
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::Events::Rule': 'Name',
  'AWS::ApiGateway::Stage': 'StageName',
};

/** Physical names and ARNs for resources, in the forms the local services accept. */
export class Resolver {
  private readonly exports = new Map<string, { stack: StackTemplate; value: unknown }>();

  constructor(private readonly assembly: Assembly) {
    for (const stack of assembly.stacks) {
      for (const out of Object.values(stack.Outputs ?? {})) {
        if (out.Export)
          this.exports.set(String(this.resolve(out.Export.Name, stack)), { stack, value: out.Value });
      }
    }
  }

  /** The assembly's stack templates. */
  get stacks(): readonly StackTemplate[] {
    return this.assembly.stacks;
  }

  /** A local name for a resource: stable, lower-case, valid for buckets and tables alike. */
  physicalName(stack: StackTemplate, logicalId: string): string {
    return `${stack.stackName}-${logicalId}`
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 63)
      .replace(/-+$/, '');
  }

  arn(stack: StackTemplate, logicalId: string): string {
    const res = stack.Resources[logicalId];
    const name = this.physicalName(stack, logicalId);
    switch (res?.Type) {
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}`;
      case 'AWS::CloudWatch::Alarm':
        return `arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT}:alarm:${this.ref(stack, logicalId)}`;
      case 'AWS::Events::Rule':
        return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${this.ref(stack, logicalId)}`;
      default:
        return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
    }
  }

  /**
   * What `Ref` returns for each resource type: the ARN for state machines and topics; the name a
   * template gives for alarms, rules and API stages (CloudWatch, EventBridge and API Gateway use the
   * given name, where one is given); else the local physical name.
   */
  ref(stack: StackTemplate, logicalId: string): string {
    const res = stack.Resources[logicalId];
    if (!res) throw new Error(`Ref to unknown resource ${logicalId} in ${stack.stackName}`);
    if (res.Type === 'AWS::StepFunctions::StateMachine' || res.Type === 'AWS::SNS::Topic')
      return this.arn(stack, logicalId);
    const given = GIVEN_NAMES[res.Type];
    if (given && res.Properties?.[given] !== undefined)
      return String(this.resolve(res.Properties[given], stack));
    return this.physicalName(stack, logicalId);
  }

  /** Every resource of the given types across the stacks, its properties resolved. */
  *resources(
    type: string | readonly string[],
  ): Generator<{ stack: StackTemplate; logicalId: string; props: Record<string, unknown> }> {
    const types: readonly string[] = typeof type === 'string' ? [type] : type;
    for (const stack of this.assembly.stacks) {
      for (const [logicalId, res] of Object.entries(stack.Resources)) {
        if (types.includes(res.Type)) {
          yield {
            stack,
            logicalId,
            props: this.resolve(res.Properties ?? {}, stack) as Record<string, unknown>,
          };
        }
      }
    }
  }

  private pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NoValue':
        return undefined;
      default:
        return undefined;
    }
  }

  private getAtt(stack: StackTemplate, logicalId: string, attr: string): string {
    if (attr === 'Arn') return this.arn(stack, logicalId);
    if (attr === 'AlarmName' || attr === 'RuleName') return this.ref(stack, logicalId);
    if (attr === 'Name' || attr === 'TopicName') return this.physicalName(stack, logicalId);
    return `${this.physicalName(stack, logicalId)}.${attr}`;
  }

  /** Resolves a template value to plain JSON. */
  resolve(value: unknown, stack: StackTemplate): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, stack));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = obj[k];
      switch (k) {
        case 'Ref': {
          const name = String(arg);
          if (name.startsWith('AWS::')) return this.pseudo(name);
          return this.ref(stack, name);
        }
        case 'Fn::GetAtt': {
          const [id, attr] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
          return this.getAtt(stack, id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolve(parts, stack) as unknown[]).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(list, stack) as unknown[])[Number(this.resolve(index, stack))];
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, unknown];
          return String(this.resolve(source, stack)).split(sep);
        }
        case 'Fn::Sub': {
          const [template, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [
            string,
            Record<string, unknown>,
          ];
          return template.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
            if (name in vars) return String(this.resolve(vars[name], stack));
            if (name.startsWith('AWS::')) return String(this.pseudo(name));
            const [id, attr] = name.split('.') as [string, string | undefined];
            return attr ? this.getAtt(stack, id, attr) : this.ref(stack, id);
          });
        }
        case 'Fn::ImportValue': {
          const name = String(this.resolve(arg, stack));
          const exp = this.exports.get(name);
          if (!exp) throw new Error(`Fn::ImportValue of unknown export ${name}`);
          return this.resolve(exp.value, exp.stack);
        }
        case 'Fn::FindInMap': {
          const [map, top, second] = this.resolve(arg, stack) as [string, string, string];
          const v = stack.Mappings?.[map]?.[top]?.[second];
          if (v === undefined)
            throw new Error(`Fn::FindInMap: ${map}.${top}.${second} is not in ${stack.stackName}`);
          return v;
        }
        default:
          if (k.startsWith('Fn::'))
            throw new Error(`The local twin cannot resolve ${k} (in ${stack.stackName})`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.resolve(v, stack);
    return out;
  }

  /** Finds a stack output by its id across all stacks, resolved. */
  output(id: string): string | undefined {
    for (const stack of this.assembly.stacks) {
      const out = stack.Outputs?.[id];
      if (out) return String(this.resolve(out.Value, stack));
    }
    return undefined;
  }

  /** Finds the stack and logical id behind a physical name or ARN this resolver produced. */
  lookup(nameOrArn: string): { stack: StackTemplate; logicalId: string } | undefined {
    for (const stack of this.assembly.stacks) {
      for (const id of Object.keys(stack.Resources)) {
        if (this.physicalName(stack, id) === nameOrArn || this.arn(stack, id) === nameOrArn)
          return { stack, logicalId: id };
      }
    }
    return undefined;
  }
}
