/** The prediction API's HTTP shapes and the responses every step answers with. */

/** A request as the predict function sees it (API Gateway's proxy event, reduced). */
export interface HttpRequest {
  method: string;
  path: string;
  /** The `{model}` path parameter, when the route has one. */
  modelParam?: string;
  headers: Record<string, string | undefined>;
  body: string | null;
  isBase64Encoded: boolean;
  requestId?: string;
  /** The API client that sent it, by its API key (default: `anonymous`). */
  client?: string;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** One problem with one instance of a request: which instance, which field, what is wrong. */
export interface InstanceError {
  instance: number;
  field: string;
  message: string;
}

/** How long a client waits before retrying a 503. */
export const RETRY_AFTER_SECONDS = '30';

/** A JSON response that no cache keeps. */
export function json(statusCode: number, body: unknown, extra: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra },
    body: JSON.stringify(body),
  };
}

/** An error response naming the request; a 503 says when to retry. */
export function problem(
  status: number,
  error: string,
  message: string,
  requestId: string,
  more: Record<string, unknown> = {},
): HttpResponse {
  return json(
    status,
    { error, message, requestId, ...more },
    status === 503 ? { 'retry-after': RETRY_AFTER_SECONDS } : {},
  );
}

/** A header's value, whatever the case of its name. */
export function header(req: Pick<HttpRequest, 'headers'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  const { headers } = req;
  if (Object.hasOwn(headers, lower)) return headers[lower];
  for (const k in headers) if (Object.hasOwn(headers, k) && k.toLowerCase() === lower) return headers[k];
  return undefined;
}
