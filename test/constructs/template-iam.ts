/**
 * Reading the IAM grants of synthesized templates as readable lines, for the least-privilege and
 * posture tests: every role's statements (attached policies, inline policies, managed policies),
 * with CloudFormation intrinsics turned into stable names (resources by construct path, exports
 * followed to the resource they export, pseudo parameters as `<Region>`, content hashes as `<hash>`).
 */
import type { App } from 'aws-cdk-lib';

type CloudAssembly = ReturnType<App['synth']>;

/** One stack's template. */
export interface StackTemplate {
  /** The stack's name without its `Mlops-<stage>-` prefix (`Data`, `Pipeline`, ...). */
  readonly part: string;
  readonly resources: Record<string, CfnResource>;
  readonly outputs: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

/** A resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}

/** A policy statement as written in a template. */
export interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, unknown>;
}

/** A statement of a role, with the template it came from (to resolve its intrinsics). */
export interface RoleStatement {
  readonly role: string;
  readonly statement: Statement;
  readonly template: StackTemplate;
}

/** The templates of an assembly, each with its part name. */
export function templatesOf(assembly: CloudAssembly, stage: string): StackTemplate[] {
  const prefix = `Mlops-${stage}-`;
  return assembly.stacks.map((stack) => {
    const t = stack.template as {
      Resources?: Record<string, CfnResource>;
      Outputs?: StackTemplate['outputs'];
    };
    return {
      part: stack.stackName.startsWith(prefix) ? stack.stackName.slice(prefix.length) : stack.stackName,
      resources: t.Resources ?? {},
      outputs: t.Outputs ?? {},
    };
  });
}

export const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * A resource's stable name: `<stack part>/<construct path>` without the trailing `/Resource` when the
 * template carries path metadata, else `<stack part>/<logical id>` without the id's hash suffix.
 */
export function nameOf(template: StackTemplate, logicalId: string): string {
  const path = template.resources[logicalId]?.Metadata?.['aws:cdk:path'];
  if (typeof path !== 'string') return `${template.part}/${logicalId.replace(/[0-9A-F]{8}$/, '')}`;
  const [, ...rest] = path.split('/');
  const parts = rest.at(-1) === 'Resource' ? rest.slice(0, -1) : rest;
  return [template.part, ...parts].join('/');
}

/** Every role of every template, by name. */
export function rolesOf(
  templates: readonly StackTemplate[],
): Map<string, { template: StackTemplate; id: string }> {
  const roles = new Map<string, { template: StackTemplate; id: string }>();
  for (const template of templates) {
    for (const [id, resource] of Object.entries(template.resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      const name = nameOf(template, id);
      if (roles.has(name)) throw new Error(`two roles are named ${name}`);
      roles.set(name, { template, id });
    }
  }
  return roles;
}

/**
 * Every statement granted to every role: the role's inline policies, the `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` resources attached to it, and (as `Managed <arn>` pseudo statements) the
 * managed policies it names.
 */
export function roleStatements(templates: readonly StackTemplate[]): RoleStatement[] {
  const roles = rolesOf(templates);
  const out: RoleStatement[] = [];
  for (const [role, { template, id }] of roles) {
    const props = template.resources[id]!.Properties ?? {};
    for (const policy of asList(props.Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
      for (const statement of asList(policy.PolicyDocument.Statement))
        out.push({ role, statement, template });
    }
    for (const arn of asList(props.ManagedPolicyArns as unknown[])) {
      out.push({ role, template, statement: { Effect: 'Managed', Resource: arn } });
    }
    for (const resource of Object.values(template.resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const attached = asList(resource.Properties?.Roles as unknown[]).some(
        (r) => (r as { Ref?: string }).Ref === id,
      );
      if (!attached) continue;
      const doc = resource.Properties!.PolicyDocument as { Statement: Statement | Statement[] };
      for (const statement of asList(doc.Statement)) out.push({ role, statement, template });
    }
  }
  return out;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': '<Partition>',
  'AWS::Region': '<Region>',
  'AWS::AccountId': '<Account>',
  'AWS::URLSuffix': '<URLSuffix>',
  'AWS::StackName': '<StackName>',
};

/** A CloudFormation value as a stable, readable string. */
export function readable(
  value: unknown,
  template: StackTemplate,
  templates: readonly StackTemplate[],
): string {
  const text = (v: unknown): string => readable(v, template, templates);
  if (typeof value === 'string') return value.replace(/[0-9a-f]{32,}/g, '<hash>');
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const obj = value as Record<string, unknown>;
  if (typeof obj.Ref === 'string') {
    return PSEUDO[obj.Ref] ?? (template.resources[obj.Ref] ? nameOf(template, obj.Ref) : `\${${obj.Ref}}`);
  }
  if (Array.isArray(obj['Fn::GetAtt'])) {
    const [id, attribute] = obj['Fn::GetAtt'] as [string, string];
    const name = template.resources[id] ? nameOf(template, id) : id;
    return attribute === 'Arn' ? name : `${name}.${attribute}`;
  }
  if (Array.isArray(obj['Fn::Join'])) {
    const [delimiter, items] = obj['Fn::Join'] as [string, unknown[]];
    return items.map(text).join(delimiter);
  }
  if (obj['Fn::ImportValue'] !== undefined) return imported(text(obj['Fn::ImportValue']), templates);
  if (obj['Fn::Sub'] !== undefined) {
    const sub = obj['Fn::Sub'];
    return typeof sub === 'string' ? text(sub) : text((sub as unknown[])[0]);
  }
  if (Array.isArray(obj['Fn::FindInMap'])) {
    const [map, ...keys] = obj['Fn::FindInMap'] as unknown[];
    return `\${Map:${[text(map).replace(/[0-9A-F]{8}$/, ''), ...keys.map(text)].join('.')}}`;
  }
  if (Array.isArray(obj['Fn::Select'])) {
    const [index, list] = obj['Fn::Select'] as [unknown, unknown];
    return `\${Select:${text(index)}:${text(list)}}`;
  }
  if (Array.isArray(obj['Fn::Split'])) {
    const [delimiter, source] = obj['Fn::Split'] as [string, unknown];
    return `\${Split:${delimiter}:${text(source)}}`;
  }
  return `{${Object.keys(obj)
    .sort()
    .map(
      (k) =>
        `${k}:${asList(obj[k] as unknown)
          .map(text)
          .join('|')}`,
    )
    .join(',')}}`;
}

/** The export `name` followed to the resource it exports, named in its own template. */
function imported(name: string, templates: readonly StackTemplate[]): string {
  for (const template of templates) {
    for (const output of Object.values(template.outputs)) {
      if (output.Export && readable(output.Export.Name, template, templates) === name) {
        return readable(output.Value, template, templates);
      }
    }
  }
  return `\${Import:${name}}`;
}

/** A condition block as `Operator key=value|value; ...`, sorted. */
export function readableCondition(
  condition: Record<string, unknown> | undefined,
  template: StackTemplate,
  templates: readonly StackTemplate[],
): string {
  if (!condition) return '';
  const parts: string[] = [];
  for (const [operator, block] of Object.entries(condition)) {
    for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
      parts.push(
        `${operator} ${key}=${asList(values)
          .map((v) => readable(v, template, templates))
          .sort()
          .join('|')}`,
      );
    }
  }
  return parts.sort().join('; ');
}

/**
 * A role's grants as lines `<Effect> <action> on <resource>[ if <condition>]`, one per action and
 * resource, sorted and without duplicates.
 */
export function grantLines(
  statements: readonly RoleStatement[],
  templates: readonly StackTemplate[],
): Map<string, string[]> {
  const byRole = new Map<string, Set<string>>();
  for (const { role, statement, template } of statements) {
    const lines = byRole.get(role) ?? new Set<string>();
    byRole.set(role, lines);
    if (statement.Effect === 'Managed') {
      lines.add(`Managed ${readable(statement.Resource, template, templates)}`);
      continue;
    }
    const condition = readableCondition(statement.Condition, template, templates);
    const suffix = condition ? ` if ${condition}` : '';
    const actions =
      statement.Action !== undefined
        ? asList(statement.Action)
        : asList(statement.NotAction).map((a) => `NOT ${a}`);
    const resources =
      statement.Resource !== undefined
        ? asList(statement.Resource).map((r) => readable(r, template, templates))
        : asList(statement.NotResource).map((r) => `NOT ${readable(r, template, templates)}`);
    for (const action of actions) {
      for (const resource of resources) lines.add(`${statement.Effect} ${action} on ${resource}${suffix}`);
    }
  }
  return new Map(
    [...byRole].sort(([a], [b]) => a.localeCompare(b)).map(([role, lines]) => [role, [...lines].sort()]),
  );
}
