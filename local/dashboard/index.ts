/**
 * The twin's dashboard pages, under `/dashboard` on its HTTP server:
 * - `/dashboard`: the template's CloudWatch dashboard, drawn from `/dashboard/data` (its widgets with
 *   the twin's metrics and alarm states);
 * - `/dashboard/models`: the models the template's alarms watch, each a link to its page;
 * - `/dashboard/models/<model>`: a model's versions, lineage, promotion evidence, audit trail and latest
 *   drift report (`/dashboard/models/<model>/data` as JSON);
 * - `/dashboard/assets/*`: the pages' scripts and uPlot, served from the installed package.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { stackOutputs } from '../../contracts/outputs.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../../lambdas/shared/adapters/aws/clients.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { LocalTwin } from '../twin.ts';
import { type Dashboard, readDashboards } from './body.ts';
import { dashboardData } from './data.ts';
import { readModelPage } from './models.ts';
import { dashboardPage, errorPage, modelPage, modelsPage } from './pages.ts';

const require = createRequire(import.meta.url);

/** The files under `/dashboard/assets/`, and where each is read from. */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  'uPlot.iife.min.js': {
    file: () => require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript',
  },
  'uPlot.min.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
  'dashboard.js': {
    file: () => fileURLToPath(new URL('./assets/dashboard.js', import.meta.url)),
    type: 'text/javascript',
  },
  'model.js': {
    file: () => fileURLToPath(new URL('./assets/model.js', import.meta.url)),
    type: 'text/javascript',
  },
};

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

interface Readers {
  dashboards: Dashboard[];
  registry: DynamoModelRegistry;
}

const readers = new WeakMap<LocalTwin, Readers>();

function readersOf(twin: LocalTwin): Readers {
  let r = readers.get(twin);
  if (!r) {
    const table = twin.resolver.output(stackOutputs.registryTableName);
    if (!table) throw new Error(`The assembly has no ${stackOutputs.registryTableName} output`);
    r = {
      dashboards: readDashboards(twin.resolver),
      registry: new DynamoModelRegistry(makeDocumentClient(twin.clientTarget()), table, systemClock),
    };
    readers.set(twin, r);
  }
  return r;
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    // Scripts only from the twin itself; the drift data is a JSON script element, which is not run.
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The models the template's alarms watch (their `Model` dimension), for the dashboard's links. */
function modelsOf(twin: LocalTwin): string[] {
  const names = new Set<string>();
  for (const a of twin.monitoring.alarms.describe()) {
    const m = a.metric.dimensions.Model;
    if (m) names.add(m);
  }
  return [...names].sort();
}

function pickDashboard(twin: LocalTwin, res: ServerResponse, asJson: boolean): Dashboard | undefined {
  const [first] = readersOf(twin).dashboards;
  if (!first) {
    const message = 'The templates define no AWS::CloudWatch::Dashboard.';
    if (asJson) json(res, 404, { error: 'NoDashboard', message });
    else html(res, 404, errorPage('No dashboard', message));
  }
  return first;
}

/** Answers a request under `/dashboard`. */
export async function serveDashboard(
  twin: LocalTwin,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return json(res, 405, {
      error: 'MethodNotAllowed',
      message: `${req.method} ${path}: the dashboard is read-only`,
    });
  if (path === '/dashboard' || path === '/dashboard/') {
    const d = pickDashboard(twin, res, false);
    if (d) html(res, 200, dashboardPage(d.id, modelsOf(twin)));
    return;
  }
  if (path === '/dashboard/data') {
    const d = pickDashboard(twin, res, true);
    if (d) json(res, 200, dashboardData(d, twin.metrics, twin.monitoring.alarms.describe()));
    return;
  }
  const asset = /^\/dashboard\/assets\/([^/]+)$/.exec(path);
  if (asset) {
    const found = ASSETS[asset[1]!];
    if (!found) return json(res, 404, { error: 'NotFound', message: `No dashboard asset ${asset[1]}` });
    res.writeHead(200, { 'content-type': `${found.type}; charset=utf-8`, 'cache-control': 'max-age=300' });
    res.end(readFileSync(found.file()));
    return;
  }
  if (path === '/dashboard/models' || path === '/dashboard/models/')
    return html(res, 200, modelsPage(modelsOf(twin)));
  const model = /^\/dashboard\/models\/([^/]+)(\/data)?\/?$/.exec(path);
  if (model) {
    let name: string;
    try {
      name = decodeURIComponent(model[1]!);
    } catch {
      name = model[1]!;
    }
    const asJson = model[2] !== undefined;
    if (!MODEL_NAME.test(name)) {
      const message = `"${name}" is not a model name: letters, digits, "-" and "_", at most 64.`;
      return asJson
        ? json(res, 400, { error: 'InvalidModelName', message })
        : html(res, 400, errorPage('Bad model name', message));
    }
    const data = await readModelPage(
      readersOf(twin).registry,
      twin.store(twin.resolver.output(stackOutputs.lakeBucketName)!),
      name,
    );
    if (data.versions.length === 0 && !data.alias) {
      const message = `Model "${name}" has no versions in the registry. Train one: npx mlops train --model ${name}`;
      return asJson
        ? json(res, 404, { error: 'UnknownModel', message })
        : html(res, 404, errorPage(`Model ${name}`, message));
    }
    return asJson ? json(res, 200, data) : html(res, 200, modelPage(data));
  }
  json(res, 404, {
    error: 'NotFound',
    message: `No dashboard page ${path}: see /dashboard and /dashboard/models/<model>.`,
  });
}
