/**
 * The CloudWatch dashboards of the synthesized templates, read as the console reads a
 * `DashboardBody`: its widgets with their grid positions, each metric line of a graph as a series
 * (namespace, name, dimensions, statistic, period, axis), alarm widgets as the alarm names their ARNs
 * end with, text widgets as their markdown. A widget type the page does not draw is kept as
 * `unsupported`, so the page says so in its place instead of leaving a hole.
 */
import type { Resolver } from '../template.ts';

/** One line of a metric widget. */
export interface DashboardMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  /** The statistic as CloudWatch names it (`Sum`, `p99`, ...). */
  stat: string;
  label: string;
  /** Seconds per datapoint. */
  period: number;
  yAxis: 'left' | 'right';
  color?: string;
}

export interface Annotation {
  value: number;
  label: string;
  color?: string;
}

export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type DashboardWidget = Placed &
  (
    | { type: 'text'; markdown: string }
    | { type: 'alarm'; title: string; alarms: string[] }
    | {
        type: 'metric';
        view: 'timeSeries' | 'singleValue';
        title: string;
        metrics: DashboardMetric[];
        annotations: Annotation[];
      }
    | { type: 'unsupported'; kind: string }
  );

export interface Dashboard {
  /** The dashboard's logical id in its stack. */
  id: string;
  /** How far back the dashboard looks by default, in ms (its `start`, e.g. `-PT3H`). */
  rangeMs: number;
  widgets: DashboardWidget[];
}

/** CloudWatch's period for a metric line that names none. */
const DEFAULT_PERIOD = 300;
const DEFAULT_RANGE_MS = 3 * 3600_000;

/** `-PT3H`, `-P1D`, `-PT15M`: an ISO 8601 duration back from now, in ms; undefined if not one. */
export function parseStart(start: unknown): number | undefined {
  if (typeof start !== 'string') return undefined;
  const m = /^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(start);
  if (!m || start === '-P' || start.endsWith('T')) return undefined;
  const [d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number];
  const ms = (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
  return ms > 0 ? ms : undefined;
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback;

/**
 * The lines of a metric widget. A line is `[namespace, name, dimName, dimValue, ..., {options}?]`,
 * where `"."` repeats the previous line's value at the same position (the console's shorthand).
 */
export function parseMetrics(lines: unknown, widgetPeriod?: number, widgetStat?: string): DashboardMetric[] {
  if (!Array.isArray(lines)) return [];
  const out: DashboardMetric[] = [];
  let previous: unknown[] = [];
  for (const line of lines) {
    if (!Array.isArray(line)) continue;
    const last = line.at(-1);
    const options =
      last !== null && typeof last === 'object' && !Array.isArray(last)
        ? (last as Record<string, unknown>)
        : {};
    const parts = (options === last ? line.slice(0, -1) : line).map((p, i) =>
      p === '.' ? previous[i] : p,
    ) as unknown[];
    previous = parts;
    if (options.expression !== undefined || parts.length < 2) continue;
    const [namespace, name, ...dims] = parts.map((p) => String(p));
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
    out.push({
      namespace: namespace!,
      name: name!,
      dimensions,
      stat: str(options.stat, widgetStat ?? 'Average'),
      label: str(options.label, name),
      period: num(options.period, widgetPeriod ?? DEFAULT_PERIOD),
      yAxis: options.yAxis === 'right' ? 'right' : 'left',
      ...(typeof options.color === 'string' ? { color: options.color } : {}),
    });
  }
  return out;
}

function parseAnnotations(annotations: unknown): Annotation[] {
  const horizontal = (annotations as { horizontal?: unknown } | undefined)?.horizontal;
  if (!Array.isArray(horizontal)) return [];
  return horizontal.flatMap((a: Record<string, unknown>) =>
    typeof a?.value === 'number'
      ? [
          {
            value: a.value,
            label: str(a.label),
            ...(typeof a.color === 'string' ? { color: a.color } : {}),
          },
        ]
      : [],
  );
}

/** The widgets of a parsed `DashboardBody`. */
export function parseWidgets(body: unknown): DashboardWidget[] {
  const widgets = (body as { widgets?: unknown } | undefined)?.widgets;
  if (!Array.isArray(widgets)) return [];
  return widgets.map((w: Record<string, unknown>) => {
    const placed: Placed = {
      x: num(w.x, 0),
      y: num(w.y, 0),
      width: num(w.width, 6),
      height: num(w.height, 6),
    };
    const p = (w.properties ?? {}) as Record<string, unknown>;
    if (w.type === 'text') return { ...placed, type: 'text', markdown: str(p.markdown) };
    if (w.type === 'alarm') {
      const arns = Array.isArray(p.alarms) ? p.alarms.map(String) : [];
      // An alarm ARN ends with `:alarm:<name>`; the name may itself hold colons.
      const names = arns.map((arn) => {
        const at = arn.indexOf(':alarm:');
        return at < 0 ? arn : arn.slice(at + ':alarm:'.length);
      });
      return { ...placed, type: 'alarm', title: str(p.title, 'Alarms'), alarms: names };
    }
    if (w.type === 'metric') {
      return {
        ...placed,
        type: 'metric',
        view: p.view === 'singleValue' ? 'singleValue' : 'timeSeries',
        title: str(p.title),
        metrics: parseMetrics(
          p.metrics,
          typeof p.period === 'number' ? p.period : undefined,
          str(p.stat) || undefined,
        ),
        annotations: parseAnnotations(p.annotations),
      };
    }
    return { ...placed, type: 'unsupported', kind: str(w.type, 'unknown') };
  });
}

/** Every `AWS::CloudWatch::Dashboard` of the templates, its body resolved and parsed. */
export function readDashboards(resolver: Resolver): Dashboard[] {
  const out: Dashboard[] = [];
  for (const { logicalId, props } of resolver.resources('AWS::CloudWatch::Dashboard')) {
    const text = props.DashboardBody;
    let body: unknown;
    try {
      body = typeof text === 'string' ? JSON.parse(text) : text;
    } catch (err) {
      throw new Error(`The DashboardBody of ${logicalId} is not JSON: ${(err as Error).message}`);
    }
    out.push({
      id: logicalId,
      rangeMs: parseStart((body as { start?: unknown }).start) ?? DEFAULT_RANGE_MS,
      widgets: parseWidgets(body),
    });
  }
  return out;
}
