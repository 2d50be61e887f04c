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

/** A JSON response that no cache keeps; `extra` headers are added to its own. */
export function json(statusCode: number, body: unknown, extra?: Record<string, string>): HttpResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!;
  return { statusCode, headers, body: JSON.stringify(body) };
}

/** One instance's prediction in an answer. */
export interface Prediction {
  score: number;
  label: string;
}

/**
 * A served answer, `{"predictions": [...], "modelVersion", "model", "requestId"}` with {@link json}'s
 * headers and the version and variant that scored it. Every successful request answers one, and
 * `JSON.stringify` of the object took more than the rest of the answer, so its text is written here,
 * byte for byte what `JSON.stringify` writes (a score JSON cannot hold, NaN or infinite, is `null`).
 */
export function served(
  predictions: readonly Prediction[],
  version: number,
  model: string,
  requestId: string,
  variant: string,
): HttpResponse {
  // A number's text needs no escaping in a JSON string.
  const modelVersion = String(version);
  let body = '{"predictions":[';
  for (let i = 0; i < predictions.length; i++) {
    const { score, label } = predictions[i]!;
    body += `${i === 0 ? '' : ','}{"score":${Number.isFinite(score) ? score : 'null'},"label":${quoted(label)}}`;
  }
  body += `],"modelVersion":"${modelVersion}","model":${quoted(model)},"requestId":${JSON.stringify(requestId)}}`;
  return {
    statusCode: 200,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-model-version': modelVersion,
      'x-model-variant': variant,
    },
    body,
  };
}

/** JSON strings of the labels and model names answers repeat, by their text. */
const quotes = new Map<string, string>();

/** `JSON.stringify` of a string answers repeat (a label, a model's name), kept. */
function quoted(text: string): string {
  let quote = quotes.get(text);
  if (quote === undefined) {
    quote = JSON.stringify(text);
    if (quotes.size >= 1024) quotes.clear();
    quotes.set(text, quote);
  }
  return quote;
}

/** An error response naming the request; a 503 says when to retry. */
export function problem(
  status: number,
  error: string,
  message: string,
  requestId: string,
  more?: Record<string, unknown>,
): HttpResponse {
  const res = json(
    status,
    more === undefined ? { error, message, requestId } : { error, message, requestId, ...more },
  );
  if (status === 503) res.headers['retry-after'] = RETRY_AFTER_SECONDS;
  return res;
}

/**
 * A header's value, whatever the case of its name. API Gateway passes names as the client spelled
 * them, so most lookups compare every name: only one of the same length is lower-cased.
 */
export function header(req: Pick<HttpRequest, 'headers'>, name: string): string | undefined {
  const { headers } = req;
  if (Object.hasOwn(headers, name)) return headers[name];
  const lower = name.toLowerCase();
  for (const k in headers) {
    if (k.length === lower.length && Object.hasOwn(headers, k) && k.toLowerCase() === lower)
      return headers[k];
  }
  return undefined;
}
