/**
 * EventBridge schedules in the twin: the rules with a `ScheduleExpression` fire their targets on
 * time, in real time. `rate(<n> <unit>)` fires every interval from the moment the twin starts (the
 * first time one interval after start, as a rule created then would); `cron(<minutes> <hours>
 * <day-of-month> <month> <day-of-week> <year>)` fires at each matching minute, in UTC, as EventBridge
 * does.
 *
 * Written here because the cron libraries on npm speak Unix cron (5 fields, 0-6 weekdays, no `?`,
 * no year), not EventBridge's. Following EventBridge's "Schedule expressions for rules": values,
 * `*`, `?` (one of day-of-month and day-of-week must be `?`), lists `,`, ranges `-`, steps `/`,
 * month names JAN-DEC and weekday names SUN-SAT (1-7 = SUN-SAT). `L`, `W` and `#` are refused by
 * name. The pure parts ({@link parseSchedule}, {@link nextFire}) take the time as an argument.
 */
import { randomUUID } from 'node:crypto';
import type { TwinSchedule } from '../contracts/twin-api.ts';
import type { EventRule } from './events.ts';

/** A parsed schedule expression. */
export type Schedule =
  | { kind: 'rate'; expression: string; intervalMs: number }
  | { kind: 'cron'; expression: string; fields: CronFields };

/** Each cron field as the values it allows; `undefined` for `?`. */
export interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth?: Set<number>;
  months: Set<number>;
  /** 1-7, Sunday first. */
  daysOfWeek?: Set<number>;
  years: Set<number>;
}

const RATE_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Parses `rate(...)` or `cron(...)`; throws naming what is wrong. */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((.*)\)$/.exec(expression.trim());
  if (rate) return { kind: 'rate', expression, intervalMs: parseRate(expression, rate[1]!) };
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron) return { kind: 'cron', expression, fields: parseCron(expression, cron[1]!) };
  throw new Error(`schedule expression ${JSON.stringify(expression)} is neither rate(...) nor cron(...)`);
}

function parseRate(expression: string, body: string): number {
  const m = /^\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*$/.exec(body);
  if (!m) {
    throw new Error(
      `${expression}: a rate is "<value> <unit>" with a whole value and the unit minute(s), hour(s) or day(s)`,
    );
  }
  const value = Number(m[1]);
  const unit = m[2]!;
  if (value < 1) throw new Error(`${expression}: the value must be at least 1`);
  // EventBridge refuses `rate(1 minutes)` and `rate(5 minute)`.
  if ((value === 1) !== !unit.endsWith('s')) {
    throw new Error(
      `${expression}: use the singular unit for 1 and the plural for more (EventBridge refuses it otherwise)`,
    );
  }
  return value * RATE_UNITS[unit.replace(/s$/, '')]!;
}

function parseCron(expression: string, body: string): CronFields {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new Error(
      `${expression}: EventBridge's cron has 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    );
  }
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    throw new Error(`${expression}: exactly one of day-of-month and day-of-week must be ?`);
  }
  const field = (name: string, text: string, lo: number, hi: number, names?: string[]) =>
    parseField(expression, name, text, lo, hi, names);
  return {
    minutes: field('minutes', min, 0, 59),
    hours: field('hours', hour, 0, 23),
    ...(dom === '?' ? {} : { daysOfMonth: field('day-of-month', dom, 1, 31) }),
    months: field('month', month, 1, 12, MONTHS),
    ...(dow === '?' ? {} : { daysOfWeek: field('day-of-week', dow, 1, 7, DAYS) }),
    years: field('year', year, 1970, 2199),
  };
}

function parseField(
  expression: string,
  name: string,
  text: string,
  lo: number,
  hi: number,
  names?: string[],
): Set<number> {
  if (text.includes('#'))
    throw new Error(`${expression}: "#" in the ${name} field is not emulated by the twin`);
  const value = (v: string): number => {
    const i = names?.indexOf(v.toUpperCase()) ?? -1;
    const n = i >= 0 ? i + 1 : Number(v);
    if (i < 0 && /[LW]/i.test(v)) {
      throw new Error(
        `${expression}: "${/L/i.test(v) ? 'L' : 'W'}" in the ${name} field is not emulated by the twin`,
      );
    }
    if (v === '' || !Number.isInteger(n) || n < lo || n > hi) {
      throw new Error(
        `${expression}: "${v}" in the ${name} field is not ${lo}-${hi}${names ? ` or ${names[0]}-${names.at(-1)}` : ''}`,
      );
    }
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [range, stepText] = item.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new Error(
        `${expression}: step "${stepText}" in the ${name} field is not a positive whole number`,
      );
    let from: number;
    let to: number;
    if (range === '*') {
      from = lo;
      to = hi;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      from = value(a);
      to = value(b);
      if (to < from)
        throw new Error(`${expression}: the range "${range}" in the ${name} field runs backwards`);
    } else {
      from = value(range);
      // `5/15` means from 5 every 15, to the field's end.
      to = stepText === undefined ? from : hi;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/** The most minutes {@link nextFire} steps through before it gives up on a cron with no next minute. */
const CRON_SEARCH_LIMIT = 100_000;

/**
 * When a schedule next fires after `after` (epoch ms): a rate at `start` plus a whole number of
 * intervals; a cron at the next matching whole minute (UTC). Undefined when a cron never fires again.
 */
export function nextFire(schedule: Schedule, after: number, start: number): number | undefined {
  if (schedule.kind === 'rate') {
    const k = Math.floor((after - start) / schedule.intervalMs) + 1;
    return start + Math.max(1, k) * schedule.intervalMs;
  }
  const f = schedule.fields;
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < CRON_SEARCH_LIMIT; i++) {
    const d = new Date(t);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    const day = d.getUTCDate();
    const h = d.getUTCHours();
    if (y > 2199) return undefined;
    if (!f.years.has(y)) {
      t = Date.UTC(y + 1, 0, 1);
    } else if (!f.months.has(mo + 1)) {
      t = Date.UTC(y, mo + 1, 1);
    } else if (
      !(f.daysOfMonth ? f.daysOfMonth.has(day) : true) ||
      !(f.daysOfWeek ? f.daysOfWeek.has(d.getUTCDay() + 1) : true)
    ) {
      t = Date.UTC(y, mo, day + 1);
    } else if (!f.hours.has(h)) {
      t = Date.UTC(y, mo, day, h + 1);
    } else if (!f.minutes.has(d.getUTCMinutes())) {
      t += 60_000;
    } else {
      return t;
    }
  }
  return undefined;
}

/** The event EventBridge sends to a scheduled rule's targets. */
export function scheduledEvent(
  rule: EventRule,
  at: Date,
  region: string,
  account: string,
): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [rule.arn],
    detail: {},
  };
}

/** The longest a Node timer waits; a later fire re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Running {
  rule: EventRule;
  schedule: Schedule;
  nextAt?: number;
  lastAt?: number;
  timer?: NodeJS.Timeout;
}

/** The schedule rules, firing in real time once started. */
export class LocalSchedules {
  private readonly running: Running[];
  private start?: number;

  constructor(
    /** The scheduled rules, with their parsed schedules. */
    rules: readonly { rule: EventRule; schedule: Schedule }[],
    /** Sends a rule's scheduled event to its targets. */
    private readonly fire: (rule: EventRule, at: Date) => void,
  ) {
    this.running = rules.map(({ rule, schedule }) => ({ rule, schedule }));
  }

  /** Arms every enabled schedule from `now`. */
  startAt(now: number = Date.now()): void {
    this.start = now;
    for (const r of this.running) {
      if (!r.rule.enabled) continue;
      r.nextAt = nextFire(r.schedule, now, now);
      this.arm(r);
    }
  }

  /** Clears every timer. */
  stop(): void {
    for (const r of this.running) {
      if (r.timer) clearTimeout(r.timer);
      r.timer = undefined;
      r.nextAt = undefined;
    }
    this.start = undefined;
  }

  private arm(r: Running): void {
    if (r.nextAt === undefined) return;
    const wait = Math.min(Math.max(0, r.nextAt - Date.now()), MAX_TIMER_MS);
    r.timer = setTimeout(() => this.wake(r), wait);
    // The twin's server keeps a process alive; its schedules alone do not.
    r.timer.unref();
  }

  private wake(r: Running): void {
    if (r.nextAt === undefined || this.start === undefined) return;
    const now = Date.now();
    if (now >= r.nextAt) {
      r.lastAt = now;
      // One fire for a wake-up that missed several (a suspended laptop), then the next one after now.
      r.nextAt = nextFire(r.schedule, now, this.start);
      this.fire(r.rule, new Date(now));
    }
    this.arm(r);
  }

  /** Every schedule as `GET /_twin/schedules` shows it. */
  describe(): TwinSchedule[] {
    return this.running.map(({ rule, schedule, nextAt, lastAt }) => ({
      rule: rule.name,
      expression: schedule.expression,
      enabled: rule.enabled,
      ...(nextAt !== undefined ? { nextAt: new Date(nextAt).toISOString() } : {}),
      ...(lastAt !== undefined ? { lastAt: new Date(lastAt).toISOString() } : {}),
      logicalId: rule.logicalId,
      ...(rule.description !== undefined ? { description: rule.description } : {}),
      targets: rule.targets.map((t) => t.arn),
    }));
  }
}
