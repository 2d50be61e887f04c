/**
 * What each widget of a dashboard shows, from the twin's collected metrics and alarm states: a
 * metric line is one datapoint per period (aligned to the period, as CloudWatch aligns them) over the
 * dashboard's range, the statistic computed as the alarms compute it; a period without values has no
 * datapoint (null), as on CloudWatch. A single-value widget shows each line's latest datapoint.
 */
import type { AlarmStateValue, TwinAlarm } from '../../contracts/twin-api.ts';
import { computeStatistic, type MetricStore, parseStatistic } from '../cloudwatch.ts';
import type { Annotation, Dashboard, DashboardWidget, Placed } from './body.ts';
import { renderMarkdown } from './markdown.ts';

/** One line of a graph: a value (or null) per timestamp of its widget. */
export interface SeriesData {
  label: string;
  stat: string;
  yAxis: 'left' | 'right';
  color?: string;
  values: (number | null)[];
  /** Set when the twin does not compute the statistic. */
  error?: string;
}

export interface AlarmCell {
  name: string;
  state: AlarmStateValue | 'UNKNOWN';
  since?: string;
  reason?: string;
}

export type WidgetData = Placed &
  (
    | { type: 'text'; html: string }
    | { type: 'alarm'; title: string; alarms: AlarmCell[] }
    | {
        type: 'metric';
        view: 'timeSeries' | 'singleValue';
        title: string;
        /** Epoch seconds, one per period, shared by the widget's lines. */
        timestamps: number[];
        series: SeriesData[];
        annotations: Annotation[];
      }
    | { type: 'unsupported'; kind: string }
  );

export interface DashboardData {
  id: string;
  from: string;
  to: string;
  widgets: WidgetData[];
}

/** The datapoints of one line over [from, to): period-aligned buckets, values by statistic. */
function bucketStarts(from: number, to: number, periodMs: number): number[] {
  const starts: number[] = [];
  for (let t = Math.floor(from / periodMs) * periodMs; t < to; t += periodMs) starts.push(t);
  return starts;
}

function widgetData(
  w: DashboardWidget,
  metrics: MetricStore,
  alarms: ReadonlyMap<string, TwinAlarm>,
  from: number,
  to: number,
): WidgetData {
  const placed = { x: w.x, y: w.y, width: w.width, height: w.height };
  switch (w.type) {
    case 'text':
      return { ...placed, type: 'text', html: renderMarkdown(w.markdown) };
    case 'alarm':
      return {
        ...placed,
        type: 'alarm',
        title: w.title,
        alarms: w.alarms.map((name) => {
          const a = alarms.get(name);
          return a ? { name, state: a.state, since: a.since, reason: a.reason } : { name, state: 'UNKNOWN' };
        }),
      };
    case 'unsupported':
      return { ...placed, type: 'unsupported', kind: w.kind };
    case 'metric': {
      // The widget's lines share one time axis: the shortest period among them.
      const periodMs = (w.metrics.length ? Math.min(...w.metrics.map((m) => m.period)) : 300) * 1000;
      const starts = bucketStarts(from, to, periodMs);
      const series = w.metrics.map((m): SeriesData => {
        const base = {
          label: m.label,
          stat: m.stat,
          yAxis: m.yAxis,
          ...(m.color ? { color: m.color } : {}),
        };
        const stat = parseStatistic(m.stat);
        if (!stat)
          return { ...base, values: starts.map(() => null), error: `statistic ${m.stat} is not computed` };
        const query = { namespace: m.namespace, name: m.name, dimensions: m.dimensions };
        const ownMs = m.period * 1000;
        // A line with a longer period than the axis holds each of its datapoints at its period's start.
        const values = starts.map((t) => {
          if (t % ownMs !== 0) return null;
          return computeStatistic(metrics.values(query, t, t + ownMs), stat) ?? null;
        });
        return { ...base, values };
      });
      return {
        ...placed,
        type: 'metric',
        view: w.view,
        title: w.title,
        timestamps: starts.map((t) => t / 1000),
        series,
        annotations: w.annotations,
      };
    }
  }
}

/** Every widget of the dashboard with what it shows at `now`. */
export function dashboardData(
  dashboard: Dashboard,
  metrics: MetricStore,
  alarms: readonly TwinAlarm[],
  now = Date.now(),
): DashboardData {
  const from = now - dashboard.rangeMs;
  const byName = new Map(alarms.map((a) => [a.name, a]));
  return {
    id: dashboard.id,
    from: new Date(from).toISOString(),
    to: new Date(now).toISOString(),
    widgets: dashboard.widgets.map((w) => widgetData(w, metrics, byName, from, now + 1)),
  };
}
