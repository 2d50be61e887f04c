/**
 * Lambda's Invoke API on loopback, for the functions' Lambda clients (`AWS_ENDPOINT_URL_LAMBDA`):
 * `POST /2015-03-31/functions/{name}/invocations`, the function named by name, ARN or either with a
 * qualifier.
 *
 * - `X-Amz-Invocation-Type: Event` answers 202 at once and runs the invocation in the background,
 *   handed to the twin (which tracks it: `settle()` and `stop()` wait for it), as Lambda queues it.
 * - `RequestResponse` (the default) answers 200 with the function's result as the payload, or, when
 *   the function throws, 200 with `X-Amz-Function-Error: Unhandled` and the error as Lambda words it.
 * - `DryRun` answers 204.
 * - An unknown function is a 404 `ResourceNotFoundException`; a payload that is not JSON is a 400
 *   `InvalidRequestContentException`.
 *
 * Not emulated: the asynchronous event queue's retries and maximum age, destinations, payload size
 * limits, client contexts and log tails.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server.ts';

const INVOKE_ROUTE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** What the Invoke API needs of the twin. */
export interface LambdaApiHandlers {
  /** The function's ARN for a name or ARN the caller gave (qualifier removed), or undefined. */
  resolve(nameOrArn: string): string | undefined;
  /** Invokes and waits for the result. */
  invoke(arn: string, event: unknown): Promise<unknown>;
  /** Invokes without waiting; the twin keeps track of the invocation. */
  invokeAsync(arn: string, event: unknown): void;
}

/** A name or ARN without its qualifier (`fn:live`, `arn:...:function:fn:3`). */
export function withoutQualifier(nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn.split(':').slice(0, 7).join(':');
  const colon = nameOrArn.indexOf(':');
  return colon < 0 ? nameOrArn : nameOrArn.slice(0, colon);
}

class LambdaApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** A loopback HTTP server speaking Lambda's Invoke API. */
export class LocalLambdaApi extends LoopbackServer {
  protected readonly serviceName = 'Lambda Invoke API';

  constructor(private readonly handlers: LambdaApiHandlers) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = INVOKE_ROUTE.exec(url.pathname);
      if (req.method !== 'POST' || !route) {
        throw new LambdaApiError(
          404,
          'UnknownOperationException',
          `No Lambda operation at ${req.method} ${url.pathname}`,
        );
      }
      const name = decodeURIComponent(route[1]!);
      const arn = this.handlers.resolve(withoutQualifier(name));
      if (!arn) throw new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${name}`);
      const body = await readBody(req);
      let event: unknown;
      try {
        event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        throw new LambdaApiError(
          400,
          'InvalidRequestContentException',
          'Could not parse request body into json',
        );
      }
      const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      if (type === 'Event') {
        this.handlers.invokeAsync(arn, event);
        res.writeHead(202, { 'x-amzn-requestid': requestId, 'content-length': '0' }).end();
        return;
      }
      if (type === 'DryRun') {
        res.writeHead(204, { 'x-amzn-requestid': requestId }).end();
        return;
      }
      if (type !== 'RequestResponse') {
        throw new LambdaApiError(400, 'InvalidParameterValueException', `Unknown invocation type ${type}`);
      }
      let payload: string;
      const headers: Record<string, string> = {
        'x-amzn-requestid': requestId,
        'x-amz-executed-version': '$LATEST',
        'content-type': 'application/json',
      };
      try {
        payload = JSON.stringify((await this.handlers.invoke(arn, event)) ?? null);
      } catch (err) {
        const e = err as Error;
        payload = JSON.stringify({ errorType: e.name, errorMessage: e.message });
        headers['x-amz-function-error'] = 'Unhandled';
      }
      res.writeHead(200, headers).end(payload);
    } catch (err) {
      const e =
        err instanceof LambdaApiError
          ? err
          : new LambdaApiError(500, 'ServiceException', (err as Error).message);
      res
        .writeHead(e.status, {
          'x-amzn-requestid': requestId,
          'x-amzn-errortype': e.type,
          'content-type': 'application/json',
        })
        .end(
          JSON.stringify({
            Type: e.status < 500 ? 'User' : 'Service',
            Message: e.message,
            message: e.message,
          }),
        );
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
