/**
 * CloudWatch metrics in the twin: the points the functions emit as EMF (local/log-capture.ts) and
 * the ones the twin records for the AWS services it emulates (AWS/Lambda, AWS/States,
 * AWS/ApiGateway), kept per series as CloudWatch keeps them: a series is a namespace, a metric name
 * and the exact set of dimensions, so an alarm that names one dimension too many or too few sees no
 * data, as on AWS. The statistics are CloudWatch's (SampleCount, Sum, Average, Minimum, Maximum and
 * percentiles `pNN`, nearest rank over the raw values, where CloudWatch approximates).
 *
 * Memory is bounded: points older than the store's retention (the longest alarm window plus a
 * margin, see local/monitoring.ts) are dropped, and a series keeps at most
 * {@link MetricStoreOptions.maxPointsPerSeries} points, dropping its oldest.
 */

/** One value of a metric, as EMF and the twin record it. */
export interface MetricPoint {
  namespace: string;
  name: string;
  value: number;
  unit: string;
  dimensions: Record<string, string>;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** Which series to read: CloudWatch matches all of these exactly; `unit`, when given, filters points. */
export interface MetricQuery {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  unit?: string;
}

/** The key of a series: namespace, name and the dimension set, order-independent. */
export function seriesKey(namespace: string, name: string, dimensions: Record<string, string>): string {
  const dims = Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`)
    .join('\u0001');
  return `${namespace}\u0000${name}\u0000${dims}`;
}

export interface MetricStoreOptions {
  /**
   * How long a point is kept, in ms.
   * @default one hour
   */
  retentionMs?: number;
  /**
   * The most points one series keeps; beyond it the oldest go.
   * @default 200_000
   */
  maxPointsPerSeries?: number;
}

/** Puts between two automatic prunes. */
const PRUNE_EVERY = 1000;

/**
 * One series' points, oldest first, in parallel arrays (a point object per value would cost about
 * ten times the memory). Points before `head` are dropped: dropping the oldest is a step of `head`,
 * and the arrays are compacted once the dropped part is as long as the kept one.
 */
interface Series {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly timestamps: number[];
  readonly values: number[];
  readonly units: string[];
  head: number;
}

/** The twin's metric points, by series. */
export class MetricStore {
  /** How long a point is kept, in ms (the monitoring raises it to its longest alarm window). */
  retentionMs: number;
  private readonly maxPerSeries: number;
  private readonly series = new Map<string, Series>();
  private putsSincePrune = 0;

  constructor(options: MetricStoreOptions = {}) {
    this.retentionMs = options.retentionMs ?? 60 * 60_000;
    this.maxPerSeries = options.maxPointsPerSeries ?? 200_000;
  }

  /** Records a point; a value that is not a finite number is not a datapoint and is dropped, as by CloudWatch. */
  put(point: MetricPoint): void {
    this.putValue(
      seriesKey(point.namespace, point.name, point.dimensions),
      point.namespace,
      point.name,
      point.dimensions,
      point.value,
      point.unit,
      point.timestamp,
    );
  }

  /**
   * Records a value in the series `key` names (as {@link seriesKey} makes it from the other fields),
   * for a caller that puts many points of the same series and computes the key once.
   */
  putValue(
    key: string,
    namespace: string,
    name: string,
    dimensions: Record<string, string>,
    value: number,
    unit: string,
    timestamp: number,
  ): void {
    if (!Number.isFinite(value) || !Number.isFinite(timestamp)) return;
    let s = this.series.get(key);
    if (!s) {
      s = { namespace, name, dimensions, timestamps: [], values: [], units: [], head: 0 };
      this.series.set(key, s);
    }
    s.timestamps.push(timestamp);
    s.values.push(value);
    s.units.push(unit);
    if (s.timestamps.length - s.head > this.maxPerSeries) this.drop(s, s.head + 1);
    if (++this.putsSincePrune >= PRUNE_EVERY) this.prune(Date.now());
  }

  /** The most points one series keeps. */
  get maxPointsPerSeries(): number {
    return this.maxPerSeries;
  }

  /** How many series and points the store keeps now: at most `series × maxPointsPerSeries` points. */
  size(): { series: number; points: number } {
    let points = 0;
    for (const s of this.series.values()) points += s.timestamps.length - s.head;
    return { series: this.series.size, points };
  }

  /** The values of a series with timestamps in [from, to). */
  values(query: MetricQuery, from: number, to: number): number[] {
    const s = this.series.get(seriesKey(query.namespace, query.name, query.dimensions));
    const out: number[] = [];
    if (!s) return out;
    for (let i = s.head; i < s.timestamps.length; i++) {
      const t = s.timestamps[i]!;
      if (t >= from && t < to && (query.unit === undefined || s.units[i] === query.unit))
        out.push(s.values[i]!);
    }
    return out;
  }

  /** Every point kept, oldest first. */
  all(): MetricPoint[] {
    const out: MetricPoint[] = [];
    for (const s of this.series.values()) {
      for (let i = s.head; i < s.timestamps.length; i++) {
        out.push({
          namespace: s.namespace,
          name: s.name,
          value: s.values[i]!,
          unit: s.units[i]!,
          dimensions: s.dimensions,
          timestamp: s.timestamps[i]!,
        });
      }
    }
    return out.sort((a, b) => a.timestamp - b.timestamp);
  }

  /**
   * Drops the points older than the retention: each series' oldest run of them, so the cost is the
   * points dropped, not the points kept. Points arrive in about the order of their timestamps; one
   * that arrived late behind a newer one is dropped with the next run, and a query's time range
   * excludes it in the meantime.
   */
  prune(now: number): void {
    this.putsSincePrune = 0;
    const cutoff = now - this.retentionMs;
    for (const [key, s] of this.series) {
      let head = s.head;
      while (head < s.timestamps.length && s.timestamps[head]! < cutoff) head++;
      if (head === s.timestamps.length) this.series.delete(key);
      else if (head !== s.head) this.drop(s, head);
    }
  }

  /** Moves a series' head to `head`, compacting its arrays once the dropped part outgrows the kept. */
  private drop(s: Series, head: number): void {
    s.head = head;
    if (s.head * 2 >= s.timestamps.length) {
      s.timestamps.splice(0, s.head);
      s.values.splice(0, s.head);
      s.units.splice(0, s.head);
      s.head = 0;
    }
  }
}

/** A CloudWatch statistic: one of the five simple ones, or a percentile. */
export type Statistic =
  | { kind: 'SampleCount' | 'Sum' | 'Average' | 'Minimum' | 'Maximum' }
  | { kind: 'percentile'; p: number };

const SIMPLE = ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'] as const;

/** Parses `Sum`, `p99`, `p99.9`, ...; undefined for a statistic the twin does not compute (trimmed means, ...). */
export function parseStatistic(text: string): Statistic | undefined {
  if ((SIMPLE as readonly string[]).includes(text)) return { kind: text as (typeof SIMPLE)[number] };
  const m = /^p(\d{1,3}(?:\.\d+)?)$/.exec(text);
  if (m) {
    const p = Number(m[1]);
    if (p >= 0 && p <= 100) return { kind: 'percentile', p };
  }
  return undefined;
}

/** The statistic over the values of one period; undefined when there are none (no datapoint). */
export function computeStatistic(values: readonly number[], stat: Statistic): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat.kind) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      // A loop, not Math.min(...values): a busy period holds more values than a call takes arguments.
      return values.reduce((a, b) => (b < a ? b : a));
    case 'Maximum':
      return values.reduce((a, b) => (b > a ? b : a));
    case 'percentile': {
      const sorted = [...values].sort((a, b) => a - b);
      const rank = Math.max(1, Math.ceil((stat.p / 100) * sorted.length));
      return sorted[rank - 1];
    }
  }
}
