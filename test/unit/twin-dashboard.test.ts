/**
 * The twin's dashboard as pure parts: a `DashboardBody` read widget by widget (the console's `"."`
 * shorthand, defaults, alarm ARNs to names), each widget's data from a metric store at a chosen
 * instant, text widgets' markdown escaped, and the model page's HTML escaping what the registry holds.
 */
import { describe, expect, it } from 'vitest';
import type { TwinAlarm } from '../../contracts/twin-api.ts';
import { MetricStore } from '../../local/cloudwatch.ts';
import { parseMetrics, parseStart, parseWidgets } from '../../local/dashboard/body.ts';
import { dashboardData } from '../../local/dashboard/data.ts';
import { renderMarkdown } from '../../local/dashboard/markdown.ts';
import { driftChartJson } from '../../local/dashboard/pages.ts';

describe('reading a DashboardBody', () => {
  it('GIVEN metric lines with "." WHEN parsed THEN each repeats the previous line at its position, with defaults', () => {
    const lines = parseMetrics([
      ['NS', 'Count', 'Api', 'a', { stat: 'Sum', label: 'Requests' }],
      ['.', 'Latency', '.', '.', { stat: 'p99', period: 60, yAxis: 'right' }],
      ['NS', 'Errors', 'Api', 'b'],
      ['NS', 'X', { expression: 'm1+m2' }],
    ]);
    expect(lines).toEqual([
      {
        namespace: 'NS',
        name: 'Count',
        dimensions: { Api: 'a' },
        stat: 'Sum',
        label: 'Requests',
        period: 300,
        yAxis: 'left',
      },
      {
        namespace: 'NS',
        name: 'Latency',
        dimensions: { Api: 'a' },
        stat: 'p99',
        label: 'Latency',
        period: 60,
        yAxis: 'right',
      },
      {
        namespace: 'NS',
        name: 'Errors',
        dimensions: { Api: 'b' },
        stat: 'Average',
        label: 'Errors',
        period: 300,
        yAxis: 'left',
      },
    ]);
  });

  it.each([
    ['-PT3H', 3 * 3600_000],
    ['-P1D', 86_400_000],
    ['-PT15M', 900_000],
    ['-P1DT1H', 90_000_000],
    ['-PT', undefined],
    ['3 hours', undefined],
    [undefined, undefined],
  ])('GIVEN start %s WHEN parsed THEN %s ms', (start, ms) => {
    expect(parseStart(start)).toBe(ms);
  });

  it('GIVEN the four widget types WHEN parsed THEN alarm ARNs become names and an unknown type is kept as unsupported', () => {
    const widgets = parseWidgets({
      widgets: [
        { type: 'text', x: 0, y: 0, width: 24, height: 2, properties: { markdown: '# Hi' } },
        {
          type: 'alarm',
          x: 0,
          y: 2,
          width: 24,
          height: 2,
          properties: { title: 'A', alarms: ['arn:aws:cloudwatch:us-east-1:1:alarm:with:colon'] },
        },
        { type: 'metric', x: 0, y: 4, properties: { view: 'singleValue', metrics: [['N', 'M']] } },
        { type: 'log', x: 6, y: 4, width: 6, height: 6, properties: {} },
      ],
    });
    expect(widgets.map((w) => w.type)).toEqual(['text', 'alarm', 'metric', 'unsupported']);
    expect(widgets[1]).toMatchObject({ alarms: ['with:colon'] });
    expect(widgets[2]).toMatchObject({ view: 'singleValue', width: 6, height: 6 });
    expect(widgets[3]).toMatchObject({ kind: 'log' });
  });
});

describe('widget data', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 30);
  const store = new MetricStore({ retentionMs: 24 * 3600_000 });
  const dims = { Model: 'm' };
  for (const [offsetMs, value] of [
    [-20 * 60_000, 1],
    [-20 * 60_000 + 1000, 3],
    [-10_000, 5],
  ] as const)
    store.put({
      namespace: 'NS',
      name: 'Latency',
      dimensions: dims,
      value,
      unit: 'Milliseconds',
      timestamp: now + offsetMs,
    });
  const dashboard = {
    id: 'D',
    rangeMs: 3600_000,
    widgets: parseWidgets({
      widgets: [
        {
          type: 'metric',
          x: 0,
          y: 0,
          width: 6,
          height: 6,
          properties: {
            metrics: [
              ['NS', 'Latency', 'Model', 'm', { stat: 'Maximum' }],
              ['NS', 'Latency', 'Model', 'other', { stat: 'Sum' }],
              ['NS', 'Latency', 'Model', 'm', { stat: 'tm90' }],
            ],
          },
        },
        {
          type: 'metric',
          x: 6,
          y: 0,
          properties: {
            view: 'singleValue',
            metrics: [['NS', 'Latency', 'Model', 'm', { stat: 'Average' }]],
          },
        },
        { type: 'alarm', x: 0, y: 6, properties: { alarms: ['arn:x:alarm:known', 'arn:x:alarm:gone'] } },
        { type: 'text', x: 0, y: 8, properties: { markdown: 'a <b>' } },
      ],
    }),
  };
  const alarm = { name: 'known', state: 'ALARM', since: 'then', reason: 'because' } as TwinAlarm;
  const data = dashboardData(dashboard, store, [alarm], now);

  it('GIVEN points in two periods WHEN drawn THEN one datapoint per aligned period, null where a period has none', () => {
    const w = data.widgets[0]!;
    if (w.type !== 'metric') throw new Error(w.type);
    // An hour back from 12:00:30, in 5-minute periods aligned to the clock: 11:00 ... 12:00.
    expect(w.timestamps).toHaveLength(13);
    expect(w.timestamps[0]).toBe(Date.UTC(2026, 11, 1, 11, 0) / 1000);
    const max = w.series[0]!.values;
    expect(max.filter((v) => v !== null)).toEqual([3, 5]);
    expect(max[w.timestamps.indexOf(Date.UTC(2026, 11, 1, 11, 40) / 1000)]).toBe(3);
    expect(w.series[1]!.values.every((v) => v === null)).toBe(true);
    expect(w.series[2]!.error).toBe('statistic tm90 is not computed');
  });

  it('GIVEN a single-value widget WHEN drawn THEN its line has the datapoints the page shows the latest of', () => {
    const w = data.widgets[1]!;
    if (w.type !== 'metric') throw new Error(w.type);
    expect(w.view).toBe('singleValue');
    expect(w.series[0]!.values.filter((v) => v !== null).at(-1)).toBe(5);
  });

  it('GIVEN an alarm the twin does not have WHEN drawn THEN it is UNKNOWN beside the known one in its state', () => {
    expect(data.widgets[2]).toMatchObject({
      alarms: [
        { name: 'known', state: 'ALARM', reason: 'because' },
        { name: 'gone', state: 'UNKNOWN' },
      ],
    });
  });

  it('GIVEN markdown with markup WHEN drawn THEN the markup is text', () => {
    expect(data.widgets[3]).toMatchObject({ html: '<p>a &lt;b&gt;</p>' });
  });
});

describe('markdown', () => {
  it('GIVEN headings, a list, emphasis and code WHEN rendered THEN the subset becomes HTML', () => {
    expect(renderMarkdown('# Title\n## Sub\ntext **bold** *it* `c`\n\n- one\n- two')).toBe(
      '<h1>Title</h1>\n<h2>Sub</h2>\n<p>text <strong>bold</strong> <em>it</em> <code>c</code></p>\n<ul><li>one</li><li>two</li></ul>',
    );
  });

  it('GIVEN links WHEN rendered THEN http(s) and relative ones are links and a javascript: one stays text', () => {
    const html = renderMarkdown('[a](https://x.test/?q=1&r=2) [b](RUNBOOK.md#x) [c](javascript:alert(1))');
    expect(html).toContain('<a href="https://x.test/?q=1&amp;r=2" rel="noopener noreferrer">a</a>');
    expect(html).toContain('<a href="RUNBOOK.md#x" rel="noopener noreferrer">b</a>');
    expect(html).not.toContain('href="javascript');
  });

  it('GIVEN HTML and attribute breakouts WHEN rendered THEN no tag or quote of the source survives', () => {
    const html = renderMarkdown('<img src=x onerror="alert(1)"> [x](https://a.test/"onmouseover="y)');
    expect(html).not.toMatch(/<img|"onmouseover/);
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
  });
});

describe("the model page's drift chart data", () => {
  it('GIVEN a feature named with a closing script tag WHEN embedded THEN the JSON cannot end its element', () => {
    const json = driftChartJson({
      features: [{ feature: '</script><script>alert(1)</script>', psi: 0.1, level: 'ok' }],
      thresholds: { psiWarn: 0.1, psiAlarm: 0.25, nullRateIncreaseAlarm: 0.1 },
    } as never);
    expect(json).not.toContain('<');
    expect(JSON.parse(json).features[0].feature).toBe('</script><script>alert(1)</script>');
  });
});
