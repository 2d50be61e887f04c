/**
 * EventBridge in the twin: the default bus's `AWS::Events::Rule`s of the templates, their event
 * patterns matched against the events the twin sends (CloudWatch alarm state changes, scheduled
 * events), and each matched rule's targets given the input EventBridge would give them (Input,
 * InputPath, InputTransformer, or the event).
 *
 * Written here because no library matches EventBridge patterns or renders input transformers
 * offline. It follows EventBridge's documented rules ("Event patterns", "Content filtering",
 * "Transforming target input"): a pattern's field holds an array of alternatives (exact values or
 * one operator each) or a nested pattern; a field of the event that is an array matches when one of
 * its elements does; `$or` holds alternative patterns. Operators: `prefix`, `suffix`, `anything-but`
 * (values, a prefix or a suffix), `numeric`, `exists`, `equals-ignore-case`, `wildcard`. Any other
 * (`cidr`, ...) is refused by {@link checkPattern}, naming it. An input template's `<name>`
 * placeholders take the InputPathsMap values (and EventBridge's reserved `aws.events.*` ones):
 * outside a JSON string as JSON, inside one as the string's text (this is how CDK's
 * `RuleTargetInput.fromObject` with `EventField.fromPath` and `fromText` render).
 *
 * Not emulated: other event buses, archives and replays, retries and dead-letter queues (a target
 * that fails is logged), and the delivery delay.
 */

/** A rule's target, as the template gives it (resolved). */
export interface RuleTarget {
  id: string;
  arn: string;
  input?: string;
  inputPath?: string;
  inputTransformer?: { inputPathsMap?: Record<string, string>; inputTemplate: string };
}

/** A rule of the templates. */
export interface EventRule {
  logicalId: string;
  name: string;
  arn: string;
  description?: string;
  enabled: boolean;
  eventBusName?: string;
  pattern?: Record<string, unknown>;
  schedule?: string;
  targets: RuleTarget[];
}

/** A rule from its resolved template properties; `name` and `arn` as the resolver gives them. */
export function readRule(
  logicalId: string,
  name: string,
  arn: string,
  props: Record<string, unknown>,
): EventRule {
  const targets = ((props.Targets as Record<string, unknown>[] | undefined) ?? []).map((t) => {
    const transformer = t.InputTransformer as
      | { InputPathsMap?: Record<string, string>; InputTemplate: string }
      | undefined;
    return {
      id: String(t.Id),
      arn: String(t.Arn),
      ...(t.Input !== undefined ? { input: String(t.Input) } : {}),
      ...(t.InputPath !== undefined ? { inputPath: String(t.InputPath) } : {}),
      ...(transformer
        ? {
            inputTransformer: {
              ...(transformer.InputPathsMap ? { inputPathsMap: transformer.InputPathsMap } : {}),
              inputTemplate: String(transformer.InputTemplate),
            },
          }
        : {}),
    };
  });
  const pattern =
    typeof props.EventPattern === 'string' ? JSON.parse(props.EventPattern) : props.EventPattern;
  return {
    logicalId,
    name,
    arn,
    ...(typeof props.Description === 'string' ? { description: props.Description } : {}),
    enabled: props.State === undefined || props.State === 'ENABLED',
    ...(props.EventBusName !== undefined ? { eventBusName: String(props.EventBusName) } : {}),
    ...(pattern !== undefined ? { pattern: pattern as Record<string, unknown> } : {}),
    ...(typeof props.ScheduleExpression === 'string' ? { schedule: props.ScheduleExpression } : {}),
    targets,
  };
}

/**
 * An EventBridge Scheduler schedule (`AWS::Scheduler::Schedule`) as a scheduled rule with its one
 * target: Scheduler sends the target's Input as it is (an empty object without one), never an event.
 * Throws naming what the twin does not run: a time zone other than UTC, one-time `at()` schedules.
 */
export function readSchedulerSchedule(
  logicalId: string,
  name: string,
  arn: string,
  props: Record<string, unknown>,
): EventRule {
  const zone = props.ScheduleExpressionTimezone;
  if (zone !== undefined && zone !== 'UTC' && zone !== 'Etc/UTC') {
    throw new Error(`its time zone ${String(zone)} is not emulated by the twin (UTC is)`);
  }
  const expression = String(props.ScheduleExpression);
  if (expression.startsWith('at('))
    throw new Error(`the one-time schedule ${expression} is not emulated by the twin`);
  const target = (props.Target ?? {}) as { Arn?: unknown; Input?: unknown };
  return {
    logicalId,
    name,
    arn,
    ...(typeof props.Description === 'string' ? { description: props.Description } : {}),
    enabled: props.State !== 'DISABLED',
    schedule: expression,
    targets: [
      {
        id: 'Target',
        arn: String(target.Arn),
        input: target.Input === undefined ? '{}' : String(target.Input),
      },
    ],
  };
}

const OPERATORS = [
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'equals-ignore-case',
  'wildcard',
] as const;

const NUMERIC_OPS = ['<', '<=', '=', '>', '>='] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks that a pattern uses only what the twin matches; throws naming the first operator or shape
 * it does not, with the field it is on.
 */
export function checkPattern(pattern: unknown, path = ''): void {
  if (!isPlainObject(pattern))
    throw new Error(`the pattern${path ? ` at ${path}` : ''} is not a JSON object`);
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length === 0)
        throw new Error(`$or at ${at} needs an array of patterns`);
      for (const alt of value) checkPattern(alt, at);
    } else if (Array.isArray(value)) {
      for (const m of value) checkMatcher(m, at);
    } else if (isPlainObject(value)) {
      checkPattern(value, at);
    } else {
      throw new Error(`the field ${at} holds ${JSON.stringify(value)}: a pattern's values must be arrays`);
    }
  }
}

function checkMatcher(m: unknown, at: string): void {
  if (!isPlainObject(m)) return;
  const keys = Object.keys(m);
  const op = keys[0];
  if (keys.length !== 1 || !(OPERATORS as readonly string[]).includes(op!)) {
    throw new Error(
      `the event pattern operator ${JSON.stringify(keys.join(', '))} at ${at} is not emulated by the twin (it matches exact values, ${OPERATORS.join(', ')} and $or)`,
    );
  }
  const arg = m[op!];
  switch (op) {
    case 'numeric': {
      const list = arg as unknown[];
      if (!Array.isArray(list) || list.length % 2 !== 0 || list.length === 0)
        throw new Error(`numeric at ${at} needs pairs of operator and number`);
      for (let i = 0; i < list.length; i += 2) {
        if (!(NUMERIC_OPS as readonly unknown[]).includes(list[i]) || typeof list[i + 1] !== 'number')
          throw new Error(
            `numeric at ${at}: ${JSON.stringify(list[i])} ${JSON.stringify(list[i + 1])} is not an operator and a number`,
          );
      }
      return;
    }
    case 'anything-but':
      if (isPlainObject(arg)) {
        const inner = Object.keys(arg);
        if (inner.length !== 1 || !['prefix', 'suffix'].includes(inner[0]!))
          throw new Error(
            `anything-but at ${at}: the operator ${JSON.stringify(inner.join(', '))} inside it is not emulated by the twin`,
          );
      }
      return;
    case 'prefix':
    case 'suffix':
      if (isPlainObject(arg) && !(Object.keys(arg).length === 1 && 'equals-ignore-case' in arg))
        throw new Error(`${op} at ${at}: only equals-ignore-case may be nested in it`);
      return;
    default:
      return;
  }
}

/** Whether an event matches a pattern (checked with {@link checkPattern}). */
export function matchPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  const obj = isPlainObject(event) ? event : {};
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(value as Record<string, unknown>[]).some((alt) => matchPattern(alt, event))) return false;
      continue;
    }
    const present = Object.hasOwn(obj, key);
    const field = obj[key];
    if (Array.isArray(value)) {
      if (!matchField(value, field, present)) return false;
    } else if (!present || !isPlainObject(field) || !matchPattern(value as Record<string, unknown>, field)) {
      return false;
    }
  }
  return true;
}

function matchField(matchers: unknown[], field: unknown, present: boolean): boolean {
  const values = Array.isArray(field) ? field : [field];
  return matchers.some((m) => {
    if (isPlainObject(m) && 'exists' in m) return m.exists ? present && !isPlainObject(field) : !present;
    if (!present) return false;
    return values.some((v) => matchValue(m, v));
  });
}

function matchValue(m: unknown, v: unknown): boolean {
  if (!isPlainObject(m)) {
    if (typeof m === 'number' && typeof v === 'number') return m === v;
    return m === v;
  }
  const [op, arg] = Object.entries(m)[0] as [string, unknown];
  const text = typeof v === 'string' ? v : undefined;
  switch (op) {
    case 'prefix':
      if (text === undefined) return false;
      return isPlainObject(arg)
        ? text.toLowerCase().startsWith(String(arg['equals-ignore-case']).toLowerCase())
        : text.startsWith(String(arg));
    case 'suffix':
      if (text === undefined) return false;
      return isPlainObject(arg)
        ? text.toLowerCase().endsWith(String(arg['equals-ignore-case']).toLowerCase())
        : text.endsWith(String(arg));
    case 'equals-ignore-case':
      return text !== undefined && text.toLowerCase() === String(arg).toLowerCase();
    case 'wildcard':
      return text !== undefined && wildcardRegExp(String(arg)).test(text);
    case 'anything-but': {
      if (isPlainObject(arg)) {
        if (text === undefined) return true;
        return 'prefix' in arg ? !text.startsWith(String(arg.prefix)) : !text.endsWith(String(arg.suffix));
      }
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.some((x) => x === v);
    }
    case 'numeric': {
      if (typeof v !== 'number') return false;
      const list = arg as (string | number)[];
      for (let i = 0; i < list.length; i += 2) {
        const n = list[i + 1] as number;
        const ok = { '<': v < n, '<=': v <= n, '=': v === n, '>': v > n, '>=': v >= n }[list[i] as string];
        if (!ok) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function wildcardRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`, 's');
}

/**
 * Reads a JSONPath of the form EventBridge takes in InputPath and InputPathsMap: `$`, then `.name`,
 * `['name']` or `[index]` steps. Undefined when the event has nothing there.
 */
export function readPath(event: unknown, path: string): unknown {
  const steps = parsePath(path);
  let value: unknown = event;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value;
}

/** The steps of a JSONPath; throws naming a path the twin does not read. */
export function parsePath(path: string): (string | number)[] {
  if (!path.startsWith('$')) throw new Error(`the path ${JSON.stringify(path)} does not start with $`);
  const steps: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m || m[1] === '*')
      throw new Error(`the path ${JSON.stringify(path)} is not a JSONPath the twin reads`);
    steps.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? m[3] ?? m[4])!);
  }
  return steps;
}

/** Checks a target's input settings before anything is sent; throws naming the problem. */
export function checkTarget(target: RuleTarget): void {
  if (target.input !== undefined) {
    try {
      JSON.parse(target.input);
    } catch {
      throw new Error(`target ${target.id}: its Input is not JSON: ${target.input}`);
    }
  }
  if (target.inputPath !== undefined) parsePath(target.inputPath);
  for (const path of Object.values(target.inputTransformer?.inputPathsMap ?? {})) parsePath(path);
}

/** What a target receives for an event: Input, InputPath, InputTransformer, or the event itself. */
export function targetInput(
  target: RuleTarget,
  event: unknown,
  rule: Pick<EventRule, 'name' | 'arn'>,
): unknown {
  if (target.input !== undefined) return JSON.parse(target.input);
  if (target.inputPath !== undefined) return readPath(event, target.inputPath);
  if (target.inputTransformer) {
    const text = renderTemplate(target.inputTransformer, event, rule);
    try {
      return JSON.parse(text);
    } catch {
      // A template that is not JSON (plain text) is delivered as the text.
      return text;
    }
  }
  return event;
}

/** An input template with its placeholders replaced, as text. */
export function renderTemplate(
  transformer: NonNullable<RuleTarget['inputTransformer']>,
  event: unknown,
  rule: Pick<EventRule, 'name' | 'arn'>,
): string {
  const values = new Map<string, unknown>();
  for (const [name, path] of Object.entries(transformer.inputPathsMap ?? {}))
    values.set(name, readPath(event, path));
  const reserved: Record<string, unknown> = {
    'aws.events.rule-arn': rule.arn,
    'aws.events.rule-name': rule.name,
    'aws.events.event.ingestion-time': (event as { time?: string } | undefined)?.time,
    'aws.events.event': event,
    'aws.events.event.json': event,
  };
  const template = transformer.inputTemplate;
  // A template that is JSON gets JSON values; plain text gets the values' text.
  const json = /^\s*[[{"]/.test(template);
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '<') {
      const end = template.indexOf('>', i);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (name !== '' && (values.has(name) || Object.hasOwn(reserved, name))) {
        const value = values.has(name) ? values.get(name) : reserved[name];
        if (json && !inString) out += JSON.stringify(value ?? null);
        else if (typeof value === 'string') out += json ? JSON.stringify(value).slice(1, -1) : value;
        else out += value === undefined ? '' : JSON.stringify(value);
        i = end;
        continue;
      }
    }
    if (json && c === '"') inString = !inString;
    if (json && c === '\\' && inString) {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    out += c;
  }
  return out;
}

/** Delivers a target's input; the twin supplies it (start an execution, invoke a function, publish). */
export type TargetDelivery = (target: RuleTarget, input: unknown, rule: EventRule) => void;

/** One event put on the bus and the rules it matched. */
export interface PutEvent {
  at: string;
  event: Record<string, unknown>;
  matched: string[];
}

/** Events kept for `GET /_twin/events`. */
const EVENT_LOG_LIMIT = 200;

/** The default event bus: its pattern rules, and delivery to their targets. */
export class LocalEventBus {
  /** The last events put on the bus, oldest first. */
  readonly log: PutEvent[] = [];

  constructor(
    /** The enabled rules with an event pattern on the default bus, each checked. */
    private readonly rules: readonly EventRule[],
    private readonly deliver: TargetDelivery,
    private readonly onError: (message: string) => void,
  ) {}

  /** Puts an event: every rule whose pattern matches sends it to its targets; returns those rules. */
  put(event: Record<string, unknown>): EventRule[] {
    const matched = this.rules.filter((r) => r.pattern && matchPattern(r.pattern, event));
    for (const rule of matched) this.send(rule, event);
    this.log.push({ at: new Date().toISOString(), event, matched: matched.map((r) => r.logicalId) });
    if (this.log.length > EVENT_LOG_LIMIT) this.log.shift();
    return matched;
  }

  /** Sends an event to each of a rule's targets, with the input the target's settings give. */
  send(rule: EventRule, event: Record<string, unknown>): void {
    for (const target of rule.targets) {
      try {
        this.deliver(target, targetInput(target, event, rule), rule);
      } catch (err) {
        this.onError(`rule ${rule.logicalId} target ${target.id}: ${(err as Error).message}`);
      }
    }
  }
}
