/**
 * The wire protocols of the local SageMaker service: one loopback HTTP server answers the control
 * plane (AWS JSON 1.1: `POST /` with `X-Amz-Target: SageMaker.<Operation>`) and the runtime (REST
 * JSON: `POST /endpoints/{name}/invocations`), with each protocol's error shape, so the real AWS
 * SDK v3 clients map every failure to an exception with SageMaker's `name`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from '../loopback-server.ts';

/** A JSON object as the protocols carry it. */
export type Json = Record<string, unknown>;

/** A service error, with the status and error code the SDK maps to an exception `name`. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra members of the error body (e.g. ModelError's OriginalStatusCode). */
    readonly fields: Json = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** The control plane's 400 for a bad or unknown input. */
export function validation(message: string): ServiceError {
  return new ServiceError(400, 'ValidationException', message);
}

/** The runtime's 400 (it names the same error `ValidationError`, without "Exception"). */
export function runtimeValidation(message: string): ServiceError {
  return new ServiceError(400, 'ValidationError', message);
}

/** An operation of the control plane: a JSON input in, a JSON output (dates allowed) out. */
export type ControlOperation = (input: Json) => unknown;

/** An InvokeEndpoint request, as the runtime sees it once the HTTP layer has read it. */
export interface InvokeRequest {
  endpointName: string;
  body: Buffer;
  /** The media type of `Content-Type`, lower-case, without parameters. */
  contentType: string;
  /** The raw `Accept` header. */
  accept: string | undefined;
  /** `X-Amzn-SageMaker-Target-Variant`, when the caller named a variant. */
  targetVariant: string | undefined;
}

/** What InvokeEndpoint answers: the model's body and the variant that produced it. */
export interface InvokeResponse {
  body: string;
  contentType: string;
  invokedVariant: string;
}

/** The two planes the server routes to. */
export interface SageMakerHandlers {
  /** Control plane operations by name (`CreateEndpoint`, ...). */
  readonly operations: Readonly<Record<string, ControlOperation>>;
  /** The runtime's InvokeEndpoint; throws {@link ServiceError} for a SageMaker-shaped failure. */
  readonly invoke: (request: InvokeRequest) => Promise<InvokeResponse>;
}

const INVOKE_ROUTE = /^\/endpoints\/([^/]+)\/invocations\/?$/;

/** The media type of a header value, lower-case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Dates become epoch seconds, the AWS JSON protocols' default timestamp format. */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function asServiceError(err: unknown): ServiceError {
  return err instanceof ServiceError ? err : new ServiceError(500, 'InternalFailure', (err as Error).message);
}

/** A loopback HTTP server speaking both SageMaker protocols. */
export class SageMakerServer extends LoopbackServer {
  protected readonly serviceName = 'LocalSageMakerEndpoints';

  constructor(private readonly handlers: SageMakerHandlers) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const invoke = INVOKE_ROUTE.exec(url.pathname);
    const target = req.headers['x-amz-target'];
    try {
      if (req.method === 'POST' && invoke) {
        await this.handleInvoke(req, res, decodeURIComponent(invoke[1]!), requestId);
      } else if (req.method === 'POST' && url.pathname === '/' && typeof target === 'string') {
        await this.handleControl(req, res, target, requestId);
      } else {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-requestid': requestId });
        res.end(
          JSON.stringify({
            message: `The local SageMaker twin serves POST / (X-Amz-Target: SageMaker.<Operation>) and POST /endpoints/{name}/invocations; got ${req.method} ${url.pathname}`,
          }),
        );
      }
    } catch (err) {
      // A request that fails outside an operation (e.g. the socket dropped): answer if still possible.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalFailure' });
        res.end(JSON.stringify({ message: (err as Error).message }));
      }
    }
  }

  /** AWS JSON 1.1: errors are `{__type, message}` in the body. */
  private async handleControl(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    requestId: string,
  ): Promise<void> {
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId };
    try {
      const operations = this.handlers.operations;
      const name = target.startsWith('SageMaker.') ? target.slice('SageMaker.'.length) : '';
      const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
      if (!operation) {
        throw new ServiceError(
          400,
          'UnknownOperationException',
          `The local SageMaker twin does not implement "${target}"; it serves SageMaker.${Object.keys(operations).join(', SageMaker.')}.`,
        );
      }
      const text = (await readBody(req)).toString('utf8');
      let input: unknown;
      try {
        input = text.trim() === '' ? {} : JSON.parse(text);
      } catch (err) {
        throw new ServiceError(
          400,
          'SerializationException',
          `The request body is not JSON: ${(err as Error).message}`,
        );
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new ServiceError(400, 'SerializationException', 'The request body must be a JSON object.');
      }
      const output = operation(input as Json);
      res.writeHead(200, headers);
      res.end(JSON.stringify(toWire(output)));
    } catch (err) {
      const e = asServiceError(err);
      res.writeHead(e.status, headers);
      res.end(JSON.stringify({ __type: e.code, message: e.message, ...e.fields }));
    }
  }

  /** REST JSON: the error code is in `X-Amzn-ErrorType`, the message and extra members in the body. */
  private async handleInvoke(
    req: IncomingMessage,
    res: ServerResponse,
    endpointName: string,
    requestId: string,
  ): Promise<void> {
    const body = await readBody(req);
    const variant = req.headers['x-amzn-sagemaker-target-variant'];
    try {
      const out = await this.handlers.invoke({
        endpointName,
        body,
        contentType: mediaType(req.headers['content-type']),
        accept: req.headers.accept,
        targetVariant: typeof variant === 'string' && variant !== '' ? variant : undefined,
      });
      res.writeHead(200, {
        'content-type': out.contentType,
        'x-amzn-invoked-production-variant': out.invokedVariant,
        'x-amzn-requestid': requestId,
      });
      res.end(out.body);
    } catch (err) {
      const e = asServiceError(err);
      res.writeHead(e.status, {
        'content-type': 'application/json',
        'x-amzn-errortype': e.code,
        'x-amzn-requestid': requestId,
      });
      res.end(JSON.stringify({ Message: e.message, ...e.fields }));
    }
  }
}
