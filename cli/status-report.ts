/**
 * What `mlops status` says about a model, built from what the target holds: the production alias and
 * the audit trail, the alarms, the latest drift report, and the training lease. Building the report
 * and printing it are pure functions of those inputs (and of the time), so the tests check every
 * field and the printed table without a twin.
 *
 * The actions list merges two sources, because the platform acts in two ways: the state machines
 * record each rollback and retraining decision as an audit event (ACTION_AUDIT), and every alarm
 * that enters ALARM notifies the operators through its SNS action, which leaves no audit item, so a
 * notification is read from the alarm's own state history.
 */
import { type AlarmAction, type AlarmKind, alarmKinds, parseAlarmName } from '../contracts/alarms.ts';
import type { AlarmStateValue, TwinAlarm } from '../contracts/twin-api.ts';
import type { DriftLevel, DriftReport, DriftRoute } from '../core/drift/types.ts';
import {
  ACTION_AUDIT,
  type ActionKind,
  type ActionRecord,
  type AuditEvent,
  type Lease,
  type ProductionAlias,
} from '../core/registry/model.ts';
import { bold, dim, green, red, table, when, yellow } from './print.ts';

/** An alarm of the model or of its stage, as the status lists it. */
export interface StatusAlarm {
  name: string;
  /** The alarm's kind (contracts/alarms.ts): the drift alarms' kinds contain `drift`. */
  kind: AlarmKind;
  /** Absent for an alarm of the stage (training failures, the drift job, the API). */
  model?: string;
  severity: 'page' | 'ticket';
  /** What the policy does when it fires, beyond notifying. */
  action: AlarmAction;
  state: AlarmStateValue;
  since: string;
  reason: string;
}

/** Something the platform did: a rollback or retraining decision, or an alarm's notification. */
export interface StatusAction {
  at: string;
  kind: ActionKind;
  outcome: ActionRecord['outcome'];
  /** The cause, in a sentence. */
  reason: string;
  trigger: ActionRecord['trigger'];
  alarm?: string;
  execution?: string;
}

/** The latest drift report in the lake, in brief. */
export interface DriftSummary {
  /** The end of the report's window. */
  at: string;
  windowStart: string;
  version: number;
  route: DriftRoute;
  status: DriftReport['status'];
  samples: number;
  minSamples: number;
  /** Absent when nothing was judged. */
  level?: DriftLevel;
  message: string;
  predictionPsi?: number;
  maxFeature?: string;
  maxFeaturePsi?: number;
  maxNullRateIncrease?: number;
  maxUnseenShare?: number;
  reportKey: string;
}

/** The training lease: who holds it, until when, and whether that time has passed. */
export interface StatusLease extends Lease {
  /** True when `until` has passed: the lease is free to take even though never released. */
  expired: boolean;
}

/** `mlops status --json`. */
export interface StatusReport {
  model: string;
  /** When the status was read. */
  at: string;
  production: {
    /** Null when the model has no production version. */
    version: number | null;
    /** The version a rollback without `--to` would consider first (the alias history's last). */
    previous: number | null;
    /** When the alias last moved, and why (a promotion or a rollback). */
    since: string | null;
    reason: string | null;
  };
  canary: { version: number; weight: number; startedAt: string } | null;
  shadow: { version: number; startedAt: string } | null;
  /** The last promotion through the pipeline (a version moving from Approved to Production). */
  lastPromotion: { at: string; version: number; reason: string } | null;
  alarms: StatusAlarm[];
  /** Why the alarms could not be read (the rest of the status still was); absent when they were. */
  alarmsError?: string;
  drift: DriftSummary | null;
  lease: StatusLease | null;
  /** Newest first. */
  actions: StatusAction[];
}

/** Everything a status is made of, as read from the target. */
export interface StatusInputs {
  model: string;
  stage: string;
  now: Date;
  alias: ProductionAlias | undefined;
  /** The model's audit events, oldest first. */
  audit: readonly AuditEvent[];
  alarms: readonly TwinAlarm[];
  /** Set when the alarms could not be read. */
  alarmsError?: string;
  drift: DriftReport | undefined;
  lease: Lease | undefined;
  /** How many actions to keep (the newest). */
  limit: number;
}

const STATE_ORDER: Record<AlarmStateValue, number> = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
const KIND_ORDER = Object.keys(alarmKinds) as AlarmKind[];

/** The model's alarms and the stage's, ALARM first, then in the order of contracts/alarms.ts. */
export function statusAlarms(alarms: readonly TwinAlarm[], stage: string, model: string): StatusAlarm[] {
  const out: StatusAlarm[] = [];
  for (const a of alarms) {
    const parsed = parseAlarmName(a.name, stage);
    if (!parsed || (parsed.model !== undefined && parsed.model !== model)) continue;
    const { severity, action } = alarmKinds[parsed.kind];
    out.push({
      name: a.name,
      kind: parsed.kind,
      ...(parsed.model === undefined ? {} : { model: parsed.model }),
      severity,
      action,
      state: a.state,
      since: a.since,
      reason: a.reason,
    });
  }
  return out.sort(
    (a, b) =>
      STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
      Number(a.model === undefined) - Number(b.model === undefined) ||
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind),
  );
}

function isActionRecord(detail: Record<string, unknown>): detail is Record<string, unknown> & ActionRecord {
  return typeof detail.kind === 'string' && typeof detail.outcome === 'string';
}

/**
 * The platform's actions, newest first: every ACTION_AUDIT event, and a `notify` for every change of
 * a listed alarm into ALARM.
 */
export function statusActions(
  audit: readonly AuditEvent[],
  alarms: readonly TwinAlarm[],
  listed: readonly StatusAlarm[],
  limit: number,
): StatusAction[] {
  const out: StatusAction[] = [];
  for (const e of audit) {
    if (e.action !== ACTION_AUDIT || !isActionRecord(e.detail)) continue;
    const d = e.detail;
    out.push({
      at: e.at,
      kind: d.kind,
      outcome: d.outcome,
      reason: d.cause ?? '',
      trigger: d.trigger,
      ...(d.alarm ? { alarm: d.alarm } : {}),
      ...(d.execution ? { execution: d.execution } : {}),
    });
  }
  const names = new Map(listed.map((a) => [a.name, a]));
  for (const a of alarms) {
    const shown = names.get(a.name);
    if (!shown) continue;
    for (const h of a.history) {
      if (h.to !== 'ALARM') continue;
      out.push({
        at: h.at,
        kind: 'notify',
        outcome: 'done',
        reason: `${alarmKinds[shown.kind].title} alarm: ${h.reason}`,
        trigger: 'alarm',
        alarm: a.name,
      });
    }
  }
  return out.sort((a, b) => b.at.localeCompare(a.at)).slice(0, limit);
}

/** A drift report in brief. */
export function driftSummary(report: DriftReport): DriftSummary {
  return {
    at: report.windowEnd,
    windowStart: report.windowStart,
    version: report.version,
    route: report.route,
    status: report.status,
    samples: report.samples,
    minSamples: report.minSamples,
    ...(report.summary ? { level: report.summary.level } : {}),
    message: report.message,
    ...(report.prediction ? { predictionPsi: report.prediction.psi } : {}),
    ...(report.summary
      ? {
          maxFeature: report.summary.maxFeature,
          maxFeaturePsi: report.summary.maxFeaturePsi,
          maxNullRateIncrease: report.summary.maxNullRateIncrease,
          maxUnseenShare: report.summary.maxUnseenShare,
        }
      : {}),
    reportKey: report.reportKey,
  };
}

/** The last promotion: the latest move of a version from Approved to Production, with the alias's reason then. */
function lastPromotion(audit: readonly AuditEvent[]): StatusReport['lastPromotion'] {
  const promoted = audit.findLast(
    (e) => e.action === 'StatusChanged' && e.detail.from === 'Approved' && e.detail.to === 'Production',
  );
  if (!promoted || promoted.version === undefined) return null;
  const moved = audit.findLast(
    (e) => e.action === 'AliasMoved' && e.version === promoted.version && e.at <= promoted.at,
  );
  const reason = moved?.detail.reason;
  return {
    at: promoted.at,
    version: promoted.version,
    reason: typeof reason === 'string' ? reason : 'promoted',
  };
}

/** The status of a model, from what the target holds. */
export function buildStatusReport(inputs: StatusInputs): StatusReport {
  const { alias, now } = inputs;
  const alarms = statusAlarms(inputs.alarms, inputs.stage, inputs.model);
  return {
    model: inputs.model,
    at: now.toISOString(),
    production: {
      version: alias?.current ?? null,
      previous: alias?.history.at(-1) ?? null,
      since: alias?.updatedAt ?? null,
      reason: alias?.reason ?? null,
    },
    canary: alias?.canary ? { ...alias.canary } : null,
    shadow: alias?.shadow ? { ...alias.shadow } : null,
    lastPromotion: lastPromotion(inputs.audit),
    alarms,
    ...(inputs.alarmsError ? { alarmsError: inputs.alarmsError } : {}),
    drift: inputs.drift ? driftSummary(inputs.drift) : null,
    lease: inputs.lease
      ? { ...inputs.lease, expired: Date.parse(inputs.lease.until) <= now.getTime() }
      : null,
    actions: statusActions(inputs.audit, inputs.alarms, alarms, inputs.limit),
  };
}

/** An alarm state, colored: ALARM red, OK green, no data yellow. */
export function paintState(state: AlarmStateValue): string {
  return state === 'ALARM' ? red(state) : state === 'OK' ? green(state) : yellow(state);
}

function paintLevel(level: DriftLevel | undefined): string {
  if (!level) return dim('not judged');
  return level === 'alarm' ? red(level) : level === 'warn' ? yellow(level) : green(level);
}

function paintOutcome(outcome: ActionRecord['outcome']): string {
  return outcome === 'paged'
    ? red(outcome)
    : outcome === 'refused' || outcome === 'skipped'
      ? yellow(outcome)
      : outcome;
}

const num = (n: number | undefined, digits = 3) => (n === undefined ? '-' : n.toFixed(digits));
const pct = (n: number | undefined) => (n === undefined ? '-' : `${(n * 100).toFixed(1)}%`);

/** The lease in a line. */
export function leaseLine(lease: StatusLease | null, now: Date): string {
  if (!lease) return `${green('free')} ${dim('(never taken, or released)')}`;
  if (lease.expired)
    return `${green('free')} ${dim(`(expired ${when(lease.until, now)}; was held by ${lease.holder}: ${lease.cause})`)}`;
  return `${yellow('held')} by ${lease.holder} since ${when(lease.since, now)}, until ${when(lease.until, now)}: ${lease.cause}`;
}

/** The drift summary in a line. */
export function driftLine(d: DriftSummary | null, now: Date): string {
  if (!d) return dim('no report yet (the drift job writes one per window)');
  const head = `window to ${when(d.at, now)}, v${d.version}${d.route === 'production' ? '' : ` ${d.route}`}, ${d.samples} samples`;
  if (d.status !== 'judged') return `${head}: ${dim(d.message)}`;
  return `${head}: ${paintLevel(d.level)}; prediction PSI ${num(d.predictionPsi)}, max feature PSI ${num(d.maxFeaturePsi)} (${d.maxFeature ?? '-'}), null rate +${pct(d.maxNullRateIncrease)}, unseen ${pct(d.maxUnseenShare)}`;
}

/** The status as a person reads it: the production line, then alarms, drift, lease and actions. */
export function formatStatusReport(r: StatusReport, now: Date): string {
  const lines: string[] = [];
  const p = r.production;
  lines.push(
    p.version === null
      ? `${bold(r.model)}  ${yellow('no production version')}`
      : `${bold(r.model)}  production ${bold(`v${p.version}`)}${p.previous === null ? '' : `, previous v${p.previous}`} — since ${when(p.since ?? undefined, now)}${p.reason ? `: ${p.reason}` : ''}`,
  );
  if (r.canary)
    lines.push(
      `  canary     v${r.canary.version} at ${(r.canary.weight * 100).toFixed(0)}% since ${when(r.canary.startedAt, now)}`,
    );
  if (r.shadow) lines.push(`  shadow     v${r.shadow.version} since ${when(r.shadow.startedAt, now)}`);
  lines.push(
    `  promoted   ${r.lastPromotion ? `v${r.lastPromotion.version} ${when(r.lastPromotion.at, now)}: ${r.lastPromotion.reason}` : dim('never through the pipeline')}`,
  );
  lines.push(`  drift      ${driftLine(r.drift, now)}`);
  lines.push(`  retraining ${leaseLine(r.lease, now)}`);
  lines.push('', bold('Alarms'));
  if (r.alarmsError) lines.push(red(`  could not be read: ${r.alarmsError}`));
  else if (r.alarms.length === 0) lines.push(dim('  none found for this model and stage'));
  else
    lines.push(
      table(
        [
          ['STATE', 'KIND', 'SEVERITY', 'ON ALARM', 'SINCE', 'NAME'],
          ...r.alarms.map((a) => [
            paintState(a.state),
            a.kind,
            a.severity,
            a.action,
            when(a.since || undefined, now),
            dim(a.name),
          ]),
        ],
        '  ',
      ),
    );
  lines.push('', bold('Recent actions'));
  if (r.actions.length === 0) lines.push(dim('  none: no rollback, retraining or notification yet'));
  else
    lines.push(
      table(
        [
          ['AT', 'KIND', 'OUTCOME', 'TRIGGER', 'REASON'],
          ...r.actions.map((a) => [when(a.at, now), a.kind, paintOutcome(a.outcome), a.trigger, a.reason]),
        ],
        '  ',
      ),
    );
  return lines.join('\n');
}
