/**
 * The twin's HTTP front door on loopback: the prediction API, whose routes, methods, functions and
 * stage are the templates' AWS::ApiGateway::* resources (read by local/gateway-validation.ts; a path
 * no method serves is a 404), each request counted in API Gateway's metrics; and a small control API the
 * CLI uses to start executions and read state: notifications, metrics, alarms (and CloudWatch's
 * SetAlarmState), schedules, the events put on the event bus, the API keys it issued
 * (local/api-keys.ts: the prediction API checks them, and their usage plans, as API Gateway does),
 * and what the twin runs of the templates, by logical id (`GET /_twin/coverage`, local/coverage.ts).
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MachineKind, stackOutputs } from '../contracts/outputs.ts';
import type { AlarmStateValue, TwinInfo } from '../contracts/twin-api.ts';
import { assemblyStage } from './api-keys.ts';
import { twinCoverage } from './coverage.ts';
import { serveDashboard } from './dashboard/index.ts';
import { GatewayValidation } from './gateway-validation.ts';
import { LOCAL_REGION } from './template.ts';
import type { LocalTwin } from './twin.ts';

const OUTPUT_IDS = [
  stackOutputs.lakeBucketName,
  stackOutputs.registryTableName,
  stackOutputs.predictionLogTableName,
  stackOutputs.predictionLogShards,
  stackOutputs.trainingStateMachineArn,
  stackOutputs.promotionStateMachineArn,
  stackOutputs.rollbackStateMachineArn,
];

async function readBody(req: IncomingMessage, limit = 6 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // The rest of a body over the limit is read and dropped, so that the client gets the 413 and its
  // connection stays usable, instead of a reset while it is still sending.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit)
    throw Object.assign(new Error(`payload too large: ${size} bytes, at most ${limit}`), { status: 413 });
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const STATES: readonly AlarmStateValue[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

export function createTwinServer(twin: LocalTwin): Server {
  // The API's routes, methods, functions and stage are those of the templates' AWS::ApiGateway::* resources.
  const gateway = GatewayValidation.fromResolver(twin.resolver);
  const served = gateway.served();
  const apiKeys = twin.apiKeys;
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      const target = path.startsWith('/_twin/') ? undefined : gateway.target(req.method ?? 'GET', path);
      if (target) {
        const received = Date.now();
        // API Gateway counts every request, the ones its integration fails (a 5xx) included.
        res.once('finish', () => twin.recordApiRequest(res.statusCode, Date.now() - received));
        // The method API Gateway matches (a deployed model's literal route before `{model}`): its key
        // requirement is checked first, then its request model.
        const { resource } = target;
        const sentKey = req.headers['x-api-key'];
        const keyCheck = apiKeys.check(
          req.method ?? 'GET',
          resource,
          typeof sentKey === 'string' ? sentKey : undefined,
        );
        if (!keyCheck.ok) return send(res, keyCheck.statusCode, keyCheck.body);
        const body = await readBody(req);
        const requestId = randomUUID();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        // API Gateway validates the body against the route's request model before the function runs.
        const refused = gateway.validate({ method: req.method ?? 'GET', path, headers, body, requestId });
        if (refused) return void res.writeHead(refused.statusCode, refused.headers).end(refused.body);
        const event = {
          resource,
          path,
          httpMethod: req.method ?? 'GET',
          headers,
          multiValueHeaders: {},
          queryStringParameters: null,
          multiValueQueryStringParameters: null,
          pathParameters: target.pathParameters,
          stageVariables: null,
          requestContext: {
            requestId,
            httpMethod: req.method,
            path,
            stage: gateway.stageName ?? 'local',
            identity: {
              apiKey: keyCheck.key?.value ?? null,
              apiKeyId: keyCheck.key?.id ?? null,
              sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
            },
          },
          body: body === '' ? null : body,
          isBase64Encoded: false,
        };
        const result = (await twin.invoke(target.functionArn, event)) as {
          statusCode: number;
          headers?: Record<string, string>;
          body: string;
        };
        res.writeHead(result.statusCode, result.headers ?? {});
        res.end(result.body);
        return;
      }
      if (path === '/dashboard' || path.startsWith('/dashboard/'))
        return await serveDashboard(twin, req, res, path);
      if (path === '/_twin/health') return send(res, 200, { ok: true });
      if (path === '/_twin/info') return send(res, 200, twinInfo(twin, server));
      if (path === '/_twin/notifications') return send(res, 200, twin.notifications);
      if (path === '/_twin/keys') return send(res, 200, apiKeys.list());
      if (path === '/_twin/metrics') return send(res, 200, twin.logs.metrics);
      if (path === '/_twin/alarms' && req.method !== 'POST')
        return send(res, 200, twin.monitoring.alarms.describe());
      if (path === '/_twin/alarms/state' && req.method === 'POST') {
        const { name, state, reason } = JSON.parse(await readBody(req)) as {
          name?: string;
          state?: string;
          reason?: string;
        };
        if (
          typeof name !== 'string' ||
          !STATES.includes(state as AlarmStateValue) ||
          typeof reason !== 'string'
        ) {
          return send(res, 400, {
            error: 'InvalidRequest',
            message: `POST /_twin/alarms/state takes {"name": <alarm name>, "state": ${STATES.join(' | ')}, "reason": <text>}`,
          });
        }
        if (!twin.monitoring.alarms.list().some((a) => a.name === name)) {
          return send(res, 404, { error: 'UnknownAlarm', message: `The twin has no alarm named "${name}"` });
        }
        twin.monitoring.setAlarmState(name, state as AlarmStateValue, reason);
        return send(
          res,
          200,
          twin.monitoring.alarms.describe().find((a) => a.name === name),
        );
      }
      if (path === '/_twin/schedules') return send(res, 200, twin.monitoring.schedules.describe());
      if (path === '/_twin/monitoring') return send(res, 200, twin.monitoring.summary());
      if (path === '/_twin/coverage') return send(res, 200, await twinCoverage(twin));
      if (path === '/_twin/events') return send(res, 200, twin.monitoring.bus.log);
      if (path === '/_twin/endpoints') {
        return send(
          res,
          200,
          twin.sagemaker.endpoints().map((name) => ({
            ...twin.sagemaker.describe(name),
            stats: twin.sagemaker.variantStats(name),
          })),
        );
      }
      // Every execution so far (those that rules, schedules and other executions started included).
      if (path === '/_twin/executions' && req.method === 'GET') return send(res, 200, twin.executions);
      if (path === '/_twin/executions' && req.method === 'POST') {
        const { stateMachine, input } = JSON.parse(await readBody(req)) as {
          stateMachine: MachineKind;
          input: unknown;
        };
        // Progress streams as NDJSON so the CLI can print each state as it happens.
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const record = await twin.execute(stateMachine, input, (event) =>
          res.write(`${JSON.stringify({ event })}\n`),
        );
        res.end(`${JSON.stringify({ record })}\n`);
        return;
      }
      if (path === '/_twin/invoke' && req.method === 'POST') {
        const { service, payload } = JSON.parse(await readBody(req)) as { service: string; payload: unknown };
        const arn = twin.functionArnByService(service);
        if (!arn)
          return send(res, 404, {
            error: 'UnknownFunction',
            message: `No function with service name ${service}`,
          });
        return send(res, 200, await twin.invoke(arn, payload ?? {}));
      }
      send(res, 404, {
        error: 'NotFound',
        message: `No route for ${req.method} ${path}. The API serves ${served.join(', ') || 'nothing (the templates declare no API method)'}.`,
      });
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      if (!res.headersSent)
        send(res, status, {
          error: status === 413 ? 'PayloadTooLarge' : 'TwinError',
          message: (err as Error).message,
        });
      else res.end();
    }
  });
  return server;
}

/** The stage of the twin's assembly, from its stack names (`Mlops-<stage>-<part>`). */
function stageOf(twin: LocalTwin): { stage?: string } {
  const stage = assemblyStage(twin.resolver);
  return stage === undefined ? {} : { stage };
}

export function twinInfo(twin: LocalTwin, server: Server): TwinInfo {
  const addr = server.address() as AddressInfo | null;
  return {
    apiUrl: addr ? `http://127.0.0.1:${addr.port}` : '',
    region: LOCAL_REGION,
    endpoints: twin.endpoints,
    outputs: Object.fromEntries(OUTPUT_IDS.map((id) => [id, twin.resolver.output(id)])),
    ...stageOf(twin),
  };
}
