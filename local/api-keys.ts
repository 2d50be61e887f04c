/**
 * API Gateway's API keys and usage plans in the twin, from the synthesized templates: every
 * `AWS::ApiGateway::ApiKey` gets a random 40-character value when the twin starts, or the value an
 * earlier twin gave the key of the same id and name (a twin on a state directory keeps them there,
 * local/twin-state.ts), its client is read from its name (`mlops-<stage>--client-<client>`), and
 * its usage plans (`AWS::ApiGateway::UsagePlanKey`) give its throttle and quota. A method whose
 * template says `ApiKeyRequired` is refused as API Gateway refuses it: 403
 * `{"message":"Forbidden"}` without a valid `x-api-key` (unknown, disabled, or in no usage plan
 * bound to a stage), 429 `{"message":"Too Many Requests"}` past the plan's rate and burst (a token
 * bucket per key, as API Gateway's per-client throttling), and 429 `{"message":"Limit Exceeded"}`
 * past its quota (per UTC day, week from Sunday, or month). A key's id is what `Ref` of its
 * resource resolves to, so it equals the id the predict function finds in `CLIENT_KEYS`.
 */
import { randomInt } from 'node:crypto';
import { clientOfApiKeyName } from '../contracts/names.ts';
import type { TwinApiKey } from '../contracts/twin-api.ts';
import type { Resolver, StackTemplate } from './template.ts';
import type { KeptApiKey } from './twin-state.ts';

/** How a usage plan limits the keys in it. */
interface PlanLimits {
  rateLimit?: number;
  burstLimit?: number;
  quota?: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH' };
  /** Whether the plan is bound to an API stage (a key in no bound plan is refused). */
  bound: boolean;
}

/** An API key the twin issued. */
export interface IssuedKey {
  /** The key's id: what `Ref` of its resource resolves to. */
  id: string;
  /** The key's name in the template. */
  name: string;
  /** The client its name gives, or undefined for a key the platform did not name. */
  client?: string;
  /** The value a caller sends in `x-api-key`. */
  value: string;
  enabled: boolean;
  plans: PlanLimits[];
}

/** What a request's key check decided: go on with the key (undefined without one), or answer. */
export type KeyCheck =
  | { ok: true; key?: IssuedKey }
  | { ok: false; statusCode: 403 | 429; body: { message: string } };

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A key value as API Gateway generates them: 40 random letters and digits. */
export function randomKeyValue(): string {
  let out = '';
  for (let i = 0; i < 40; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** A template reference's logical id (`Ref`, or the resource of `Fn::GetAtt`). */
function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  if (typeof v.Ref === 'string') return v.Ref;
  if (Array.isArray(v['Fn::GetAtt'])) return String(v['Fn::GetAtt'][0]);
  return undefined;
}

/** The resource path of a method (`/v1/models/{model}/predict`), from the templates' resources. */
function resourcePath(stack: StackTemplate, resourceId: string | undefined): string {
  const parts: string[] = [];
  let id = resourceId;
  // The root resource is the RestApi itself (`Fn::GetAtt [api, RootResourceId]`).
  while (id && stack.Resources[id]?.Type === 'AWS::ApiGateway::Resource') {
    const props = stack.Resources[id]!.Properties ?? {};
    parts.unshift(String(props.PathPart));
    id = refOf(props.ParentId);
  }
  return `/${parts.join('/')}`;
}

/** The start of the quota period `at` falls in, in UTC (a week starts on Sunday, as API Gateway's). */
function periodStart(period: 'DAY' | 'WEEK' | 'MONTH', at: number): number {
  const d = new Date(at);
  if (period === 'MONTH') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return period === 'DAY' ? day : day - d.getUTCDay() * 86_400_000;
}

/** The keys of a twin's templates, with the state of their throttles and quotas. */
export class TwinApiKeys {
  private readonly byValue = new Map<string, IssuedKey>();
  /** `<HTTP method> <resource path>` of the methods that require a key. */
  private readonly keyRequired = new Set<string>();
  private readonly buckets = new Map<IssuedKey, { tokens: number; at: number }[]>();
  private readonly quotaUse = new Map<IssuedKey, { start: number; used: number }[]>();
  /** What `Ref` of each usage plan the twin applies resolves to. */
  readonly planIds = new Set<string>();
  /** The logical ids of the `AWS::ApiGateway::UsagePlanKey`s that put an issued key in a plan. */
  readonly planKeyIds = new Set<string>();

  private readonly now: () => number;

  /**
   * Issues a value for every API key of the templates; `stage` names their clients. A key keeps the
   * value its template sets, else the one `kept` holds for its id and name, else gets a random one.
   */
  constructor(
    resolver: Resolver,
    stage: string | undefined,
    options: { kept?: readonly KeptApiKey[]; now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    const keptValue = new Map((options.kept ?? []).map((k) => [`${k.id}\n${k.name}`, k.value]));
    const plans = new Map<string, PlanLimits>();
    for (const { stack, logicalId, props } of resolver.resources('AWS::ApiGateway::UsagePlan')) {
      const throttle = (props.Throttle ?? {}) as { RateLimit?: number; BurstLimit?: number };
      const quota = props.Quota as { Limit?: number; Period?: 'DAY' | 'WEEK' | 'MONTH' } | undefined;
      plans.set(resolver.ref(stack, logicalId), {
        ...(throttle.RateLimit !== undefined ? { rateLimit: Number(throttle.RateLimit) } : {}),
        ...(throttle.BurstLimit !== undefined ? { burstLimit: Number(throttle.BurstLimit) } : {}),
        ...(quota?.Limit !== undefined && quota.Period
          ? { quota: { limit: Number(quota.Limit), period: quota.Period } }
          : {}),
        bound: Array.isArray(props.ApiStages) && props.ApiStages.length > 0,
      });
    }
    const plansOfKey = new Map<string, PlanLimits[]>();
    for (const id of plans.keys()) this.planIds.add(id);
    const planKeys = new Map<string, string[]>();
    for (const { logicalId, props } of resolver.resources('AWS::ApiGateway::UsagePlanKey')) {
      const plan = plans.get(String(props.UsagePlanId));
      if (!plan || props.KeyType !== 'API_KEY') continue;
      const keyId = String(props.KeyId);
      plansOfKey.set(keyId, [...(plansOfKey.get(keyId) ?? []), plan]);
      planKeys.set(keyId, [...(planKeys.get(keyId) ?? []), logicalId]);
    }
    for (const { stack, logicalId, props } of resolver.resources('AWS::ApiGateway::ApiKey')) {
      const id = resolver.ref(stack, logicalId);
      const name = props.Name === undefined ? id : String(props.Name);
      const client = stage === undefined ? undefined : clientOfApiKeyName(stage, name);
      const key: IssuedKey = {
        id,
        name,
        ...(client !== undefined ? { client } : {}),
        value:
          typeof props.Value === 'string'
            ? props.Value
            : (keptValue.get(`${id}\n${name}`) ?? randomKeyValue()),
        enabled: props.Enabled !== false && props.Enabled !== 'false',
        plans: plansOfKey.get(id) ?? [],
      };
      this.byValue.set(key.value, key);
      for (const planKeyId of planKeys.get(id) ?? []) this.planKeyIds.add(planKeyId);
    }
    for (const stack of resolver.stacks) {
      for (const res of Object.values(stack.Resources)) {
        if (res.Type !== 'AWS::ApiGateway::Method') continue;
        const props = res.Properties ?? {};
        if (props.ApiKeyRequired !== true && props.ApiKeyRequired !== 'true') continue;
        this.keyRequired.add(`${String(props.HttpMethod)} ${resourcePath(stack, refOf(props.ResourceId))}`);
      }
    }
  }

  /** Every key the twin issued. */
  keys(): IssuedKey[] {
    return [...this.byValue.values()];
  }

  /** `GET /_twin/keys`: the key of each client, in the templates' order. */
  list(): TwinApiKey[] {
    return this.keys().flatMap((k) => (k.client !== undefined ? [{ client: k.client, key: k.value }] : []));
  }

  /** Whether the method at `resource` (`/v1/models/{model}/predict`) requires an API key. */
  requiresKey(httpMethod: string, resource: string): boolean {
    return this.keyRequired.has(`${httpMethod} ${resource}`) || this.keyRequired.has(`ANY ${resource}`);
  }

  /**
   * Checks a request to a method as API Gateway does before its integration runs: the key, then
   * the throttle of each of its plans, then their quotas. A request to a method that requires no
   * key passes, with its key when it sent a valid one.
   */
  check(httpMethod: string, resource: string, apiKey: string | undefined): KeyCheck {
    const key = apiKey === undefined ? undefined : this.byValue.get(apiKey);
    const usable = key?.enabled && key.plans.some((p) => p.bound) ? key : undefined;
    if (!this.requiresKey(httpMethod, resource)) return usable ? { ok: true, key: usable } : { ok: true };
    if (!usable) return { ok: false, statusCode: 403, body: { message: 'Forbidden' } };
    const now = this.now();
    if (!this.takeToken(usable, now))
      return { ok: false, statusCode: 429, body: { message: 'Too Many Requests' } };
    if (!this.countQuota(usable, now))
      return { ok: false, statusCode: 429, body: { message: 'Limit Exceeded' } };
    return { ok: true, key: usable };
  }

  /** Takes one token from each of the key's plan buckets (rate per second, burst deep), or none. */
  private takeToken(key: IssuedKey, now: number): boolean {
    let buckets = this.buckets.get(key);
    if (!buckets) {
      buckets = key.plans.map((p) => ({ tokens: p.burstLimit ?? Number.POSITIVE_INFINITY, at: now }));
      this.buckets.set(key, buckets);
    }
    const refilled = key.plans.map((plan, i) => {
      const b = buckets![i]!;
      const depth = plan.burstLimit ?? Number.POSITIVE_INFINITY;
      const rate = plan.rateLimit ?? Number.POSITIVE_INFINITY;
      return Math.min(depth, b.tokens + ((now - b.at) / 1000) * rate);
    });
    const allowed = refilled.every((tokens) => tokens >= 1);
    refilled.forEach((tokens, i) => {
      buckets![i] = { tokens: allowed ? tokens - 1 : tokens, at: now };
    });
    return allowed;
  }

  /** Counts the request against each of the key's plan quotas, or refuses it when one is used up. */
  private countQuota(key: IssuedKey, now: number): boolean {
    let uses = this.quotaUse.get(key);
    if (!uses) {
      uses = key.plans.map(() => ({ start: 0, used: 0 }));
      this.quotaUse.set(key, uses);
    }
    const current = key.plans.map((plan, i) => {
      const use = uses![i]!;
      if (!plan.quota) return use;
      const start = periodStart(plan.quota.period, now);
      return start === use.start ? use : { start, used: 0 };
    });
    const allowed = key.plans.every((plan, i) => !plan.quota || current[i]!.used < plan.quota.limit);
    current.forEach((use, i) => {
      uses![i] = allowed ? { start: use.start, used: use.used + 1 } : use;
    });
    return allowed;
  }
}

/** The stage of an assembly, from its stack names (`Mlops-<stage>-<part>`): it names the API keys' clients. */
export function assemblyStage(resolver: Resolver): string | undefined {
  for (const stack of resolver.stacks) {
    const found = /^Mlops-(.+)-Data$/.exec(stack.stackName);
    if (found) return found[1]!;
  }
  return undefined;
}
