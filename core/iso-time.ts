/**
 * `Date.prototype.toISOString` for a time in ms since the epoch, several times faster: the text up to
 * the hour is formatted once per hour and kept, the minutes, seconds and milliseconds are appended.
 * The predict function stamps every log row with the time, and `toISOString` took a tenth of a warm
 * request's own work (bench/predict-overhead.ts).
 */
const HOUR_MS = 3_600_000;
let hourStart = Number.NaN;
/** `YYYY-MM-DDTHH:` of the hour that starts at `hourStart`. */
let hourText = '';

/** The largest time a Date holds, in ms from the epoch either way. */
const MAX_TIME = 8.64e15;

export function isoTime(time: number): string {
  // Outside a Date's range toISOString throws a RangeError; so does this.
  if (!(Math.abs(time) <= MAX_TIME)) return new Date(time).toISOString();
  // A Date drops the fraction of a millisecond, toward zero.
  const ms = Math.trunc(time) + 0;
  const intoHour = ((ms % HOUR_MS) + HOUR_MS) % HOUR_MS;
  const start = ms - intoHour;
  if (start !== hourStart) {
    const text = new Date(start).toISOString();
    hourStart = start;
    hourText = text.slice(0, text.length - 10);
  }
  const minutes = Math.floor(intoHour / 60_000);
  const seconds = Math.floor((intoHour % 60_000) / 1000);
  const millis = Math.floor(intoHour % 1000);
  return `${hourText}${minutes < 10 ? '0' : ''}${minutes}:${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
