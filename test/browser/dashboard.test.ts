/**
 * The twin's dashboard pages in headless Chromium (Debian's `chromium`, driven by playwright-core),
 * on the twin `npx mlops local up --fast` boots (same function, in this process: its alarms evaluated
 * in real time, its rules and schedules running). After demo traffic (v1 trained and promoted,
 * predictions sent, then a population whose incomes are three times the training data's, and the
 * drift job run), the feature-drift alarm goes to ALARM by its own evaluation and its rule starts a
 * retraining run. Then every widget of the template's CloudWatch dashboard draws data, the alarm
 * widgets show the states the twin holds (the drift alarm among them in ALARM), and the model's page
 * shows its versions, the evidence of its promotion, the audit trail and the drift report's chart.
 *
 * With `DASHBOARD_SCREENSHOT_DIR` set, the run saves `dashboard.png` (and `model.png`) there.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DATA } from '../../cli/commands/demo.ts';
import { ingest } from '../../cli/commands/ingest.ts';
import { promote } from '../../cli/commands/promote.ts';
import { latestDriftReport } from '../../cli/commands/status.ts';
import { train } from '../../cli/commands/train.ts';
import { type RunningTwin, startTwin } from '../../cli/start-twin.ts';
import { type Target, twinTarget } from '../../cli/target.ts';
import { alarmName } from '../../contracts/alarms.ts';
import type { ExecutionRecord, TwinAlarm, TwinApiKey } from '../../contracts/twin-api.ts';
import { buildConfig, loadModels, readCdkJsonContext } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import type { ModelPageData } from '../../local/dashboard/models.ts';
import { sampleRows } from '../support/requests.ts';
import { until } from '../support/until.ts';

/** Debian's chromium; `CHROMIUM_PATH` names another build of it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MODEL = 'credit';

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

const NO_CHROMIUM = `No Chromium at ${CHROMIUM}: the browser tests need Debian's chromium. Install it with: sudo apt-get install -y chromium`;

// A machine without the browser fails here, by name, rather than skipping the pages' tests.
it("GIVEN the browser tests WHEN they start THEN Debian's chromium is installed", () => {
  expect(existsSync(CHROMIUM), NO_CHROMIUM).toBe(true);
});

describe('the dashboard pages in headless Chromium', () => {
  let server: RunningTwin;
  let target: Target;
  let browser: Browser;
  let page: Page;
  const raised = alarmName('dev', 'feature-drift', MODEL);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(NO_CHROMIUM);
    const models = loadModels(MODELS_DIR).map((m) =>
      // On a shared machine a cold model load alone can pass the default p99 latency budget; the
      // alarm this test raises is the drift one.
      m.name === MODEL ? { ...m, alarms: { ...m.alarms, latencyP99Ms: 60_000 } } : m,
    );
    const config = buildConfig(
      { ...(readCdkJsonContext().mlops as object), stage: 'dev' },
      models,
      'dashboard test',
    );
    server = await startTwin({ host: '127.0.0.1', port: 0, config, fast: true, monitoring: true });
    target = await twinTarget(server.url);
    const def = config.models.find((m) => m.name === MODEL)!;
    await ingest(target, def, DEMO_DATA);
    const v1 = await train(target, MODEL, { seed: 42 });
    expect((await promote(target, MODEL, v1.version)).promoted).toBe(true);
    // Traffic with the client's API key, in requests of 100: 300 applicants like those v1 was
    // trained on, then 300 whose incomes are three times theirs.
    const [client] = await getJson<TwinApiKey[]>(`${server.url}/_twin/keys`);
    const usual = sampleRows(300);
    const shifted = usual.map((r) => ({
      ...r,
      ...(typeof r.Income === 'number' ? { Income: r.Income * 3 } : {}),
    }));
    const rows = [...usual, ...shifted];
    for (let i = 0; i < rows.length; i += 100) {
      const res = await fetch(`${server.url}/v1/models/${MODEL}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': client!.key },
        body: JSON.stringify({ instances: rows.slice(i, i + 100) }),
      });
      expect(res.status, await res.text()).toBe(200);
    }
    // An idempotency key the function refuses: an invalid request it counts (API Gateway passes it on).
    const bad = await fetch(`${server.url}/v1/models/${MODEL}/predict`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': client!.key,
        'idempotency-key': 'no spaces!',
      },
      body: JSON.stringify({ instances: rows.slice(0, 1) }),
    });
    expect(bad.status, await bad.text()).toBe(400);
    // The drift job, run now rather than on its one-minute schedule: Income moved.
    const [drift] = await target.runDrift({ model: MODEL });
    expect(drift?.status).toBe('judged');
    // The alarm goes to ALARM on its own evaluation of the drift metric, and its rule starts a
    // retraining run, as on AWS: the pages are read once that run has ended.
    await until(
      async () =>
        (await getJson<TwinAlarm[]>(`${server.url}/_twin/alarms`)).find((a) => a.name === raised)?.state ===
        'ALARM',
      `${raised} in ALARM`,
      90_000,
    );
    await until(
      async () =>
        (await getJson<ExecutionRecord[]>(`${server.url}/_twin/executions`)).some(
          (e) =>
            e.stateMachine === 'training' &&
            (e.input as { alarm?: string }).alarm === raised &&
            e.status !== 'RUNNING',
        ),
      `the retraining run ${raised} started, ended`,
      180_000,
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (err) => {
      throw err;
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('GIVEN demo traffic WHEN /dashboard loads THEN every widget of the template dashboard draws data', async () => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#grid[data-loaded="true"]', { timeout: 30_000 });
    const widgets = await page.$$eval('#grid > section.widget', (nodes) =>
      nodes.map((n) => ({
        type: n.getAttribute('data-widget-type'),
        view: n.getAttribute('data-view'),
        points: Number(n.getAttribute('data-points') ?? '0'),
        title: n.querySelector('.widget-title')?.textContent ?? '',
        canvases: n.querySelectorAll('canvas').length,
        numbers: [...n.querySelectorAll('.single-value .number')].map((x) => x.textContent),
        alarms: [...n.querySelectorAll('.alarm-cell')].map((x) => x.getAttribute('data-state')),
        text: n.querySelector('.markdown')?.textContent ?? '',
      })),
    );
    // The template's dashboard: text, alarm status and time series widgets (test/constructs checks it).
    const dataRes = (await (await fetch(`${server.url}/dashboard/data`)).json()) as {
      widgets: { type: string }[];
    };
    expect(widgets).toHaveLength(dataRes.widgets.length);
    expect(new Set(widgets.map((w) => w.type))).toEqual(new Set(['text', 'alarm', 'metric']));
    for (const w of widgets) {
      const where = `${w.type} widget "${w.title || w.text.slice(0, 30)}"`;
      if (w.type === 'metric' && w.view === 'timeSeries') {
        expect(w.canvases, where).toBeGreaterThan(0);
        expect(w.points, where).toBeGreaterThan(0);
      } else if (w.type === 'metric') {
        expect(w.numbers.filter((n) => n !== '-').length, where).toBeGreaterThan(0);
      } else if (w.type === 'alarm') {
        expect(w.alarms.length, where).toBeGreaterThan(0);
        expect(w.alarms, where).not.toContain('UNKNOWN');
      } else {
        expect(w.text.trim(), where).not.toBe('');
      }
    }
    expect(errors).toEqual([]);
  });

  it('GIVEN the drift alarm raised by its own evaluation WHEN the dashboard loads THEN the alarm widgets show the states the twin holds, it in ALARM', async () => {
    const alarm = (await getJson<TwinAlarm[]>(`${server.url}/_twin/alarms`)).find((a) => a.name === raised);
    // Raised by the twin's evaluation of the drift metric, as CloudWatch words it, not set by hand.
    expect(alarm?.reason).toMatch(/^Threshold Crossed/);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#grid[data-loaded="true"]');
    const states = await page.$$eval('.alarm-cell', (cells) =>
      cells.map((c) => [c.getAttribute('data-alarm'), c.getAttribute('data-state')]),
    );
    // Read after the page: alarms evaluate every 5 s, and a state only moves on from ALARM once the
    // shifted traffic leaves the drift job's window, minutes from now.
    const held = await getJson<TwinAlarm[]>(`${server.url}/_twin/alarms`);
    const inAlarm = (list: (string | null)[][]) =>
      list
        .filter(([, s]) => s === 'ALARM')
        .map(([n]) => n)
        .sort();
    expect(inAlarm(states)).toContain(raised);
    expect(inAlarm(states)).toEqual(
      inAlarm(held.filter((a) => states.some(([n]) => n === a.name)).map((a) => [a.name, a.state])),
    );
    const cell = page.locator(`.alarm-cell[data-alarm="${raised}"]`);
    await expect(cell.locator('.state').textContent()).resolves.toBe('ALARM');
    const dir = process.env.DASHBOARD_SCREENSHOT_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    }
  });

  it("GIVEN v1 promoted WHEN the model's page loads THEN it shows its versions, evidence, audit trail and the latest drift report per feature", async () => {
    // Reached as a person would: from the list of models.
    await page.goto(`${server.url}/dashboard/models`);
    await page.click(`#models a:text-is("${MODEL}")`);
    await page.waitForURL(`${server.url}/dashboard/models/${MODEL}`);
    await expect(page.locator('#production').textContent()).resolves.toContain('Production: v1');
    const versions = await page.$$eval('#versions tr[data-version]', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const registered = await target.registry.listVersions(MODEL);
    expect(versions).toHaveLength(registered.length);
    expect(versions[0]!.slice(0, 2)).toEqual(['v1 (production)', 'Production']);
    const evidence = page.locator('#v1 .evidence');
    await expect(evidence.getAttribute('data-approved')).resolves.toBe('true');
    expect(await evidence.locator('td.passed').count()).toBeGreaterThan(0);
    expect(await page.locator('#v1 .lineage dd').count()).toBeGreaterThan(10);
    const audit = await page.$$eval('#audit tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    expect(audit).toHaveLength((await target.registry.listAudit(MODEL)).length);
    expect(audit).toEqual(expect.arrayContaining(['VersionRegistered', 'GuardrailDecision', 'AliasMoved']));
    // The retraining the drift alarm's rule started is in the trail, with the alarm as its cause.
    await expect(page.locator('#audit').textContent()).resolves.toContain(`"alarm":"${raised}"`);
    // The report on the page is the one `mlops status` reads as the latest.
    const data = (await (
      await fetch(`${server.url}/dashboard/models/${MODEL}/data`)
    ).json()) as ModelPageData;
    const latest = await latestDriftReport(target, MODEL);
    expect(data.drift?.reportKey).toBe(latest?.reportKey);
    const chart = page.locator('#drift-chart');
    await expect(chart.locator('canvas').count()).resolves.toBeGreaterThan(0);
    await expect(chart.getAttribute('data-bars')).resolves.toBe(String(latest!.features.length));
    const dir = process.env.DASHBOARD_SCREENSHOT_DIR;
    if (dir) await page.screenshot({ path: join(dir, 'model.png'), fullPage: true });
  });

  it('GIVEN a model name with markup WHEN its page is asked for THEN the answer is a 400 naming it, escaped', async () => {
    const res = await fetch(`${server.url}/dashboard/models/${encodeURIComponent('<script>x')}`);
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).toContain('&quot;&lt;script&gt;x&quot; is not a model name');
    expect(body).not.toContain('<script>x');
    // A path that is not valid percent-encoding is the same clear 400, not a server error.
    const malformed = await fetch(`${server.url}/dashboard/models/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    await expect(malformed.text()).resolves.toContain('is not a model name');
  });
});
