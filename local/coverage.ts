/**
 * What the twin runs of the synthesized templates, resource by resource: each resource of every
 * stack, by logical id and type, is emulated (and then the running twin is asked for its
 * counterpart: the dynalite table, the s3rver bucket, the function, the state machine, the alarm,
 * the rule, the route), not emulated (with the reason), or of a type nobody has classified yet.
 *
 * The types are classified here and only here: {@link EMULATED} maps a type to what runs it in the
 * twin and how to find that counterpart for one logical id; {@link NOT_EMULATED} maps a type to why
 * the twin leaves it out. `mlops local up` prints {@link coverageLines}; `GET /_twin/coverage`
 * answers {@link twinCoverage}; the README's table of what the twin emulates is
 * {@link coverageTable}, written between its markers by `npm run docs:coverage`.
 */
import { DynamoDBClient, ListTablesCommand, type ListTablesCommandOutput } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { clientConfig, makeS3Client } from '../lambdas/shared/adapters/aws/clients.ts';
import { isEmulated } from './alarms.ts';
import type { TwinApiKeys } from './api-keys.ts';
import { readDashboards } from './dashboard/body.ts';
import { GatewayValidation } from './gateway-validation.ts';
import type { TwinMonitoring } from './monitoring.ts';
import { Resolver, readAssembly, type StackTemplate } from './template.ts';
import type { LocalTwin } from './twin.ts';

/** What became of one resource of the templates in the twin. */
export type CoverageStatus =
  /** The twin runs it: its counterpart is present. */
  | 'emulated'
  /** Of a type the twin emulates, but the running twin holds no counterpart for it. */
  | 'missing'
  /** Of a type the twin leaves out, for the reason given. */
  | 'not-emulated'
  /** Of a type nobody has classified: neither emulated nor known to be left out. */
  | 'unclassified';

export interface CoverageEntry {
  stack: string;
  logicalId: string;
  type: string;
  status: CoverageStatus;
  /** What runs it in the twin (emulated and missing resources). */
  counterpart?: string;
  /** Why it is not emulated, or what is missing. */
  reason?: string;
}

export interface TwinCoverage {
  counts: Record<CoverageStatus, number>;
  resources: CoverageEntry[];
}

/** The running twin, as the coverage looks at it. */
export interface TwinView {
  resolver: Resolver;
  monitoring: TwinMonitoring;
  gateway: GatewayValidation;
  apiKeys: TwinApiKeys;
  /** The names of the tables dynalite holds. */
  tables(): Promise<ReadonlySet<string>>;
  /** The names of the buckets s3rver holds. */
  buckets(): Promise<ReadonlySet<string>>;
}

/** One resource of the templates, for a probe. */
export interface ResourceRef {
  stack: StackTemplate;
  logicalId: string;
  props: Record<string, unknown>;
}

/** How the twin emulates a type: what runs it, and whether the running twin holds a resource's counterpart. */
export interface Counterpart {
  counterpart: string;
  /** True when the counterpart is present; otherwise what is missing. */
  present(twin: TwinView, r: ResourceRef): Promise<true | string> | true | string;
}

const check = (ok: boolean, missing: string): true | string => ok || missing;

/** The resolved value of a resource property (intrinsics included). */
const resolved = (twin: TwinView, r: ResourceRef, key: string): unknown =>
  twin.resolver.resolve(r.props[key], r.stack);

/** The twin's pattern rules and schedules (EventBridge rules and Scheduler schedules alike). */
function ruleCheck(twin: TwinView, r: ResourceRef): true | string {
  const { rules, schedules } = twin.monitoring.summary();
  if (rules.emulated.includes(r.logicalId) || schedules.emulated.includes(r.logicalId)) return true;
  const reason = [...rules.notEmulated, ...schedules.notEmulated].find((n) => n.logicalId === r.logicalId);
  return reason
    ? `the monitoring leaves it out: ${reason.reason}`
    : 'the monitoring has no rule or schedule for it';
}

/** The types the twin emulates, by what runs them. */
export const EMULATED: Readonly<Record<string, Counterpart>> = {
  'AWS::DynamoDB::Table': {
    counterpart: 'a dynalite table (local/dynamodb.ts)',
    present: async (t, r) =>
      check(
        (await t.tables()).has(t.resolver.physicalName(r.stack, r.logicalId)),
        'dynalite has no such table',
      ),
  },
  'AWS::S3::Bucket': {
    counterpart: 'an s3rver bucket (local/s3-server.ts)',
    present: async (t, r) =>
      check(
        (await t.buckets()).has(t.resolver.physicalName(r.stack, r.logicalId)),
        's3rver has no such bucket',
      ),
  },
  'AWS::Lambda::Function': {
    counterpart: 'an instance running its bundle with its environment (local/functions.ts)',
    present: (t, r) =>
      check(
        t.monitoring.isFunction(t.resolver.arn(r.stack, r.logicalId)),
        'the twin runs no such function (no Node.js bundle in the assembly?)',
      ),
  },
  'AWS::StepFunctions::StateMachine': {
    counterpart: 'its ASL run by aws-local-stepfunctions (local/step-functions.ts)',
    present: (t, r) =>
      check(
        t.monitoring.isStateMachine(t.resolver.arn(r.stack, r.logicalId)),
        'the twin runs no such state machine',
      ),
  },
  'AWS::CloudWatch::Dashboard': {
    counterpart:
      'drawn at GET /dashboard from the metrics and alarm states the twin keeps (local/dashboard/)',
    present: (t, r) =>
      readDashboards(t.resolver).some((d) => d.id === r.logicalId) ||
      'the dashboard page cannot read its body',
  },
  'AWS::CloudWatch::Alarm': {
    counterpart:
      'evaluated on the metrics the twin collects, actions to SNS and events to the rules (local/alarms.ts)',
    present: (t, r) => {
      const alarm = t.monitoring.alarms.list().find((a) => a.logicalId === r.logicalId);
      if (!alarm) return 'the monitoring has no such alarm';
      return isEmulated(alarm) || `the monitoring leaves it out: ${alarm.reason}`;
    },
  },
  'AWS::Events::Rule': {
    counterpart:
      "pattern rules on the twin's event bus (local/events.ts), schedules on timers (local/schedules.ts)",
    present: ruleCheck,
  },
  'AWS::Scheduler::Schedule': {
    counterpart: 'a schedule on a timer, delivering to its one target (local/schedules.ts)',
    present: ruleCheck,
  },
  'AWS::SNS::Topic': {
    counterpart: 'publishing keeps the message (GET /_twin/notifications) and prints it (local/twin.ts)',
    // Publishing to any topic ARN is kept; the topic needs nothing created in the twin.
    present: () => true,
  },
  'AWS::ApiGateway::RestApi': {
    counterpart: "the twin's HTTP server on loopback (local/server.ts)",
    present: (t) => check(t.gateway.methods().length > 0, 'the server serves no method of the API'),
  },
  'AWS::ApiGateway::Resource': {
    counterpart: 'a route of the server (local/gateway-validation.ts)',
    present: (t, r) =>
      check(t.gateway.resourceIds().includes(r.logicalId), 'no route of the server is read from it'),
  },
  'AWS::ApiGateway::Method': {
    counterpart:
      'its Lambda proxy integration invoked by the server, after the key and body checks (local/server.ts)',
    present: (t, r) => {
      const method = t.gateway.methods().find((m) => m.logicalId === r.logicalId);
      if (!method) return 'the server has no such method';
      if (!method.functionArn) return 'only Lambda proxy (AWS_PROXY) integrations are emulated';
      return check(
        t.monitoring.isFunction(method.functionArn),
        `the twin runs no function ${method.functionArn}`,
      );
    },
  },
  'AWS::ApiGateway::Model': {
    counterpart: 'request bodies validated against its schema with ajv (local/gateway-validation.ts)',
    present: (t, r) =>
      check(t.gateway.modelIds().includes(r.logicalId), 'no method validates a body with it'),
  },
  'AWS::ApiGateway::RequestValidator': {
    counterpart: "its ValidateRequestBody applied to its methods' bodies (local/gateway-validation.ts)",
    present: (t, r) =>
      check(t.gateway.validatorIds().includes(r.logicalId), 'no method of the server uses it'),
  },
  'AWS::ApiGateway::GatewayResponse': {
    counterpart: 'the answer to a body the validation refuses (local/gateway-validation.ts)',
    present: (t, r) =>
      check(
        resolved(t, r, 'ResponseType') === 'BAD_REQUEST_BODY',
        `the twin answers BAD_REQUEST_BODY only, not ${String(resolved(t, r, 'ResponseType'))}`,
      ),
  },
  'AWS::ApiGateway::Stage': {
    counterpart: "the stage of the server's requests and of the API's metrics (local/server.ts)",
    present: (t, r) =>
      check(t.gateway.stageName === t.resolver.ref(r.stack, r.logicalId), 'the server serves another stage'),
  },
  'AWS::ApiGateway::ApiKey': {
    counterpart: 'a key value the server checks in x-api-key (local/api-keys.ts; GET /_twin/keys)',
    present: (t, r) =>
      check(
        t.apiKeys.keys().some((k) => k.id === t.resolver.ref(r.stack, r.logicalId)),
        'the twin issued no such key',
      ),
  },
  'AWS::ApiGateway::UsagePlan': {
    counterpart: 'its throttle and quota applied to its keys (local/api-keys.ts)',
    present: (t, r) =>
      check(t.apiKeys.planIds.has(t.resolver.ref(r.stack, r.logicalId)), 'the twin applies no such plan'),
  },
  'AWS::ApiGateway::UsagePlanKey': {
    counterpart: 'its key put in its plan (local/api-keys.ts)',
    present: (t, r) => check(t.apiKeys.planKeyIds.has(r.logicalId), 'no issued key is in a plan through it'),
  },
};

/** Why the twin leaves a resource out: the same for every resource of its type, or said of each one. */
export type LeftOut = string | ((props: Record<string, unknown>) => string);

/** The types the twin leaves out, and why. */
export const NOT_EMULATED: Readonly<Record<string, LeftOut>> = {
  'AWS::IAM::Role': 'IAM is not enforced: every function and state machine reaches every local service',
  'AWS::IAM::Policy': 'IAM is not enforced: every function and state machine reaches every local service',
  'AWS::IAM::ManagedPolicy':
    'IAM is not enforced: every function and state machine reaches every local service',
  'AWS::KMS::Key': 'KMS keys are not used: the local buckets, tables, topic and logs are not encrypted',
  'AWS::KMS::Alias': 'KMS keys are not used: the local buckets, tables, topic and logs are not encrypted',
  'AWS::S3::BucketPolicy': 'bucket policies are not enforced (s3rver checks the local credentials only)',
  'AWS::SNS::TopicPolicy': 'topic policies are not enforced',
  'AWS::SNS::Subscription': (props) =>
    `no message leaves the machine: ${String(props.Protocol)} to ${String(props.Endpoint)} is not sent; what the topic publishes is printed and kept at GET /_twin/notifications`,
  'AWS::Lambda::Permission':
    'resource policies are not enforced: the API and the rules invoke functions directly',
  'AWS::Lambda::EventInvokeConfig':
    'an asynchronous invocation runs once, without retries, maximum event age or destinations',
  'AWS::Logs::LogGroup':
    'every function writes to one log file (local/log-capture.ts); no log groups, retention or access logs',
  'AWS::ApiGateway::Deployment':
    "the server serves the templates' methods as they are, with no deployment snapshots",
  'AWS::ApiGateway::Account':
    'the CloudWatch role of API Gateway: the twin writes no execution or access logs',
  'AWS::CDK::Metadata': "CDK's own metadata, not a resource of the platform",
};

/** Every resource of the templates, classified by type alone (emulated types unchecked: status `emulated`). */
export function classifyTemplates(resolver: Resolver): CoverageEntry[] {
  const out: CoverageEntry[] = [];
  for (const stack of resolver.stacks) {
    for (const [logicalId, res] of Object.entries(stack.Resources)) {
      const base = { stack: stack.stackName, logicalId, type: res.Type };
      const emulated = EMULATED[res.Type];
      const leftOut = NOT_EMULATED[res.Type];
      if (emulated) out.push({ ...base, status: 'emulated', counterpart: emulated.counterpart });
      else if (leftOut !== undefined) {
        const reason =
          typeof leftOut === 'string'
            ? leftOut
            : leftOut(resolver.resolve(res.Properties ?? {}, stack) as Record<string, unknown>);
        out.push({ ...base, status: 'not-emulated', reason });
      } else
        out.push({
          ...base,
          status: 'unclassified',
          reason: 'a type the twin neither emulates nor lists as left out (local/coverage.ts)',
        });
    }
  }
  return out;
}

/** The coverage of a running twin: every emulated resource checked for its counterpart. */
export async function coverageOf(view: TwinView): Promise<TwinCoverage> {
  const resources = classifyTemplates(view.resolver);
  for (const entry of resources) {
    if (entry.status !== 'emulated') continue;
    const stack = view.resolver.stacks.find((s) => s.stackName === entry.stack)!;
    const props = (stack.Resources[entry.logicalId]!.Properties ?? {}) as Record<string, unknown>;
    let found: true | string;
    try {
      found = await EMULATED[entry.type]!.present(view, { stack, logicalId: entry.logicalId, props });
    } catch (err) {
      found = `its counterpart could not be checked: ${(err as Error).message}`;
    }
    if (found !== true) {
      entry.status = 'missing';
      entry.reason = found;
    }
  }
  const counts: Record<CoverageStatus, number> = {
    emulated: 0,
    missing: 0,
    'not-emulated': 0,
    unclassified: 0,
  };
  for (const r of resources) counts[r.status]++;
  return { counts, resources };
}

/** The running twin as the coverage looks at it: its services asked through their own APIs. */
export function twinView(twin: LocalTwin): TwinView {
  let tables: Promise<ReadonlySet<string>> | undefined;
  let buckets: Promise<ReadonlySet<string>> | undefined;
  const target = twin.clientTarget();
  return {
    resolver: twin.resolver,
    monitoring: twin.monitoring,
    gateway: GatewayValidation.fromResolver(twin.resolver),
    apiKeys: twin.apiKeys,
    tables() {
      tables ??= (async () => {
        const client = new DynamoDBClient(clientConfig('dynamodb', target));
        const names = new Set<string>();
        try {
          let page: ListTablesCommandOutput | undefined;
          do {
            page = await client.send(
              new ListTablesCommand(
                page?.LastEvaluatedTableName ? { ExclusiveStartTableName: page.LastEvaluatedTableName } : {},
              ),
            );
            for (const name of page.TableNames ?? []) names.add(name);
          } while (page.LastEvaluatedTableName);
        } finally {
          client.destroy();
        }
        return names;
      })();
      return tables;
    },
    buckets() {
      buckets ??= (async () => {
        const client = makeS3Client(target);
        try {
          const out = await client.send(new ListBucketsCommand({}));
          return new Set((out.Buckets ?? []).map((b) => String(b.Name)));
        } finally {
          client.destroy();
        }
      })();
      return buckets;
    },
  };
}

/** `GET /_twin/coverage`: every resource of the templates and what became of it in this twin. */
export function twinCoverage(twin: LocalTwin): Promise<TwinCoverage> {
  return coverageOf(twinView(twin));
}

/**
 * The coverage for people: a summary, a line per emulated type (how many, what runs them), then
 * by type and logical id every resource the twin does not run, with the reason.
 */
export function coverageLines(coverage: TwinCoverage): string[] {
  const { counts, resources } = coverage;
  const total = resources.length;
  const lines = [
    `${counts.emulated} of ${total} template resources emulated, ${counts['not-emulated']} not emulated` +
      (counts.missing > 0 ? `, ${counts.missing} MISSING` : '') +
      (counts.unclassified > 0 ? `, ${counts.unclassified} of unclassified types` : ''),
  ];
  const byType = new Map<string, CoverageEntry[]>();
  for (const r of resources)
    byType.set(`${r.status} ${r.type}`, [...(byType.get(`${r.status} ${r.type}`) ?? []), r]);
  const groups = [...byType.values()].sort((a, b) => a[0]!.type.localeCompare(b[0]!.type));
  for (const group of groups.filter((g) => g[0]!.status === 'emulated'))
    lines.push(
      `emulated: ${group[0]!.type} ×${group.length} (${group[0]!.counterpart}): ${group.map((r) => r.logicalId).join(', ')}`,
    );
  for (const status of ['missing', 'unclassified', 'not-emulated'] as const) {
    const label =
      status === 'missing' ? 'MISSING' : status === 'unclassified' ? 'unclassified' : 'not emulated';
    for (const group of groups.filter((g) => g[0]!.status === status)) {
      if (status === 'not-emulated') {
        lines.push(
          `${label}: ${group[0]!.type} ×${group.length} (${group[0]!.reason}): ${group.map((r) => r.logicalId).join(', ')}`,
        );
      } else {
        for (const r of group) lines.push(`${label}: ${r.type} ${r.stack}/${r.logicalId}: ${r.reason}`);
      }
    }
  }
  return lines;
}

/** The lines `mlops local up` prints for a running twin: {@link coverageLines} of its {@link twinCoverage}. */
export async function twinCoverageLines(twin: LocalTwin): Promise<string[]> {
  return coverageLines(await twinCoverage(twin));
}

/** What runs the resources of one type in the twin, or why nothing does. */
function inTwin(group: readonly CoverageEntry[]): string {
  const first = group[0]!;
  if (first.status === 'emulated' || first.status === 'missing') return first.counterpart!;
  // A type left out for a reason said of each resource (a subscription, by its endpoint): each
  // reason once.
  const reasons = [...new Set(group.map((r) => r.reason))].join('; ');
  return `${first.status === 'unclassified' ? 'unclassified' : 'not emulated'}: ${reasons}`;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/**
 * The coverage by resource type, as markdown: a summary line, then a row per type of the templates
 * (in type order) with how many resources are of it and what runs them in the twin, or why nothing
 * does.
 */
export function coverageTable(entries: readonly CoverageEntry[]): string {
  const byType = new Map<string, CoverageEntry[]>();
  for (const e of entries) byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
  const emulated = entries.filter((e) => e.status === 'emulated' || e.status === 'missing').length;
  const unclassified = entries.filter((e) => e.status === 'unclassified').length;
  const rows = [...byType.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, group]) => `| \`${type}\` | ${group.length} | ${cell(inTwin(group))} |`);
  return [
    `${entries.length} resources of ${byType.size} types in the synthesized templates: ${emulated} emulated, ` +
      `${entries.length - emulated - unclassified} not emulated` +
      (unclassified > 0 ? `, ${unclassified} of types nobody has classified` : '') +
      '.',
    '',
    '| type | resources in the templates | in the twin |',
    '| --- | ---: | --- |',
    ...rows,
  ].join('\n');
}

/** {@link coverageTable} of the templates of the cloud assembly in `assemblyDir`. */
export function assemblyCoverageTable(assemblyDir: string): string {
  return coverageTable(classifyTemplates(new Resolver(readAssembly(assemblyDir))));
}

/** The markers around the README's generated coverage table. */
export const COVERAGE_MARKERS = {
  start: '<!-- twin-coverage:start -->',
  end: '<!-- twin-coverage:end -->',
} as const;

/** Where the README's coverage block lies: the text between its markers. */
function coverageBlockAt(readme: string): { from: number; to: number } {
  const start = readme.indexOf(COVERAGE_MARKERS.start);
  const end = readme.indexOf(COVERAGE_MARKERS.end);
  if (start < 0 || end < start) {
    throw new Error(
      `README.md has no ${COVERAGE_MARKERS.start} … ${COVERAGE_MARKERS.end} block for the twin's coverage table; put the two markers, in that order, where the table goes.`,
    );
  }
  return { from: start + COVERAGE_MARKERS.start.length, to: end };
}

/** The table the README holds between its coverage markers, as {@link coverageTable} gives it. */
export function readmeCoverageTable(readme: string): string {
  const { from, to } = coverageBlockAt(readme);
  return readme.slice(from, to).trim();
}

/** The README with `table` between its coverage markers, in place of what was there. */
export function withCoverageTable(readme: string, table: string): string {
  const { from, to } = coverageBlockAt(readme);
  return `${readme.slice(0, from)}\n${table}\n${readme.slice(to)}`;
}
