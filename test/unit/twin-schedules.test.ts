/**
 * The twin's schedule expressions: EventBridge's rate() and 6-field cron(), parsed and their next
 * fire computed from explicit instants (UTC), and what it refuses, by name.
 */
import { describe, expect, it } from 'vitest';
import { nextFire, parseSchedule } from '../../local/schedules.ts';

const at = (iso: string) => Date.parse(iso);
const next = (expression: string, after: string, start = after) => {
  const t = nextFire(parseSchedule(expression), at(after), at(start));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('rate()', () => {
  it('fires one interval after start, then every interval from start', () => {
    const start = '2026-12-01T12:00:30.000Z';

    expect(next('rate(1 minute)', start, start)).toBe('2026-12-01T12:01:30.000Z');
    expect(next('rate(1 minute)', '2026-12-01T12:01:30.000Z', start)).toBe('2026-12-01T12:02:30.000Z');
    expect(next('rate(15 minutes)', '2026-12-01T12:20:00.000Z', start)).toBe('2026-12-01T12:30:30.000Z');
    expect(next('rate(2 hours)', start, start)).toBe('2026-12-01T14:00:30.000Z');
    expect(next('rate(7 days)', start, start)).toBe('2026-12-08T12:00:30.000Z');
  });

  it.each([
    ['rate(1 minutes)', /singular unit for 1/],
    ['rate(5 minute)', /plural for more/],
    ['rate(0 minutes)', /at least 1/],
    ['rate(1.5 hours)', /whole value/],
    ['rate(1 week)', /minute\(s\), hour\(s\) or day\(s\)/],
    ['every 5 minutes', /neither rate\(\.\.\.\) nor cron\(\.\.\.\)/],
  ])('refuses %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(message);
  });
});

describe('cron()', () => {
  it.each([
    // expression, after, next fire
    ['cron(0/5 * * * ? *)', '2026-12-01T12:03:10Z', '2026-12-01T12:05:00.000Z'],
    ['cron(0/5 * * * ? *)', '2026-12-01T12:05:00Z', '2026-12-01T12:10:00.000Z'],
    ['cron(*/15 * * * ? *)', '2026-12-01T12:59:00Z', '2026-12-01T13:00:00.000Z'],
    ['cron(0 3 * * ? *)', '2026-12-01T04:00:00Z', '2026-12-02T03:00:00.000Z'],
    ['cron(30 9 ? * MON-FRI *)', '2026-12-04T10:00:00Z', '2026-12-07T09:30:00.000Z'], // Friday → Monday
    ['cron(0 0 ? * 1 *)', '2026-12-01T00:00:00Z', '2026-12-06T00:00:00.000Z'], // 1 = Sunday
    ['cron(0 12 1,15 * ? *)', '2026-12-02T00:00:00Z', '2026-12-15T12:00:00.000Z'],
    ['cron(0 0 31 * ? *)', '2026-12-31T00:00:01Z', '2027-01-31T00:00:00.000Z'],
    ['cron(0 0 29 FEB ? *)', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['cron(10-12 8 * JAN,DEC ? 2027)', '2026-12-01T00:00:00Z', '2027-01-01T08:10:00.000Z'],
    ['cron(5/20 * * * ? *)', '2026-12-01T12:46:00Z', '2026-12-01T13:05:00.000Z'],
  ])('%s after %s fires at %s', (expression, after, expected) => {
    expect(next(expression, after)).toBe(expected);
  });

  it('never fires again after its last year', () => {
    expect(next('cron(0 0 1 1 ? 2026)', '2026-06-01T00:00:00Z')).toBeUndefined();
  });

  it.each([
    ['cron(0 0 L * ? *)', /"L" in the day-of-month field is not emulated/],
    ['cron(0 0 15W * ? *)', /"W" in the day-of-month field is not emulated/],
    ['cron(0 0 ? * 6#3 *)', /"#" in the day-of-week field is not emulated/],
    ['cron(0 0 ? * 5L *)', /"L" in the day-of-week field/],
    ['cron(0 0 * * * *)', /exactly one of day-of-month and day-of-week must be \?/],
    ['cron(0 0 * * ?)', /6 fields .* got 5/],
    ['cron(60 * * * ? *)', /"60" in the minutes field is not 0-59/],
    ['cron(0 0 ? * FUNDAY *)', /"FUNDAY" in the day-of-week field is not 1-7 or SUN-SAT/],
    ['cron(0 5-2 * * ? *)', /range "5-2" in the hours field runs backwards/],
  ])('refuses %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(message);
  });

  it('reads month and weekday names, with lists', () => {
    const s = parseSchedule('cron(0 0 ? JUL,AUG WED,SAT *)');

    expect(s.kind === 'cron' && [...s.fields.months]).toEqual([7, 8]);
    expect(s.kind === 'cron' && [...(s.fields.daysOfWeek ?? [])]).toEqual([4, 7]);
  });
});
