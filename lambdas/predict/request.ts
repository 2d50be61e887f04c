/**
 * Request parsing and validation, pure: the envelope (method, content type, a JSON object holding
 * `instances` and nothing else) before any model is looked up, and the instances against the
 * serving version's feature spec once it is known. A refusal names what was wrong.
 */

import type { FeatureSpec } from '../../core/features/spec.ts';
import { type CleanRow, validateRow } from '../../core/features/transform.ts';
import { type HttpRequest, header, type InstanceError } from './http.ts';

/** Why a request is refused before it reaches a model. */
export interface Refusal {
  status: 400 | 405 | 415;
  error: 'InvalidRequest' | 'MethodNotAllowed' | 'UnsupportedMediaType';
  message: string;
  details?: InstanceError[];
}

/** A request's envelope: its instances, still unchecked against any spec, or why it is refused. */
export type ParsedRequest = { ok: true; instances: unknown[] } | { ok: false; refusal: Refusal };

/** Checked instances: clean rows in request order, or why they are refused. */
export type ValidatedInstances = { ok: true; rows: CleanRow[] } | { ok: false; refusal: Refusal };

const invalid = (message: string, details?: InstanceError[]): { ok: false; refusal: Refusal } => ({
  ok: false,
  refusal: { status: 400, error: 'InvalidRequest', message, ...(details ? { details } : {}) },
});

/** Parses a request's envelope: POST, `application/json`, `{"instances": [...]}` with at least one. */
export function parseRequest(
  req: Pick<HttpRequest, 'method' | 'headers' | 'body' | 'isBase64Encoded'>,
): ParsedRequest {
  if (req.method.toUpperCase() !== 'POST') {
    return {
      ok: false,
      refusal: { status: 405, error: 'MethodNotAllowed', message: `Use POST, not ${req.method}.` },
    };
  }
  const contentType = header(req, 'content-type');
  if (!contentType || !/^application\/json\s*(;|$)/i.test(contentType.trim())) {
    return {
      ok: false,
      refusal: {
        status: 415,
        error: 'UnsupportedMediaType',
        message: `Content-Type must be application/json, got ${contentType ? `"${contentType}"` : 'none'}.`,
      },
    };
  }
  const text =
    req.body == null ? '' : req.isBase64Encoded ? Buffer.from(req.body, 'base64').toString('utf8') : req.body;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return invalid(`The body is not valid JSON: ${(err as Error).message}.`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return invalid('The body must be a JSON object: {"instances": [{...}, ...]}.');
  }
  const instances = (body as { instances?: unknown }).instances;
  if (!Array.isArray(instances))
    return invalid('"instances" must be an array of objects, one per prediction.');
  if (instances.length === 0) return invalid('"instances" is empty: send at least one instance.');
  const extraKeys = Object.keys(body).filter((k) => k !== 'instances');
  if (extraKeys.length > 0) return invalid(`Unknown top-level field(s): ${extraKeys.join(', ')}.`);
  return { ok: true, instances };
}

/**
 * The magnitudes a DynamoDB number holds (the prediction log stores every feature value sent): from
 * 1E-130 up to 9.99…E+125, that is below 1E+126.
 */
const LOG_MAGNITUDE_LIMIT = 1e126;
const LOG_MIN_MAGNITUDE = 1e-130;

/** Why a number the spec accepts cannot be logged, or undefined when it can. */
function unloggable(value: number): string | undefined {
  const magnitude = Math.abs(value);
  if (magnitude >= LOG_MAGNITUDE_LIMIT)
    return `is ${value}, larger in magnitude than the prediction log stores (at most 9.99E+125)`;
  if (magnitude !== 0 && magnitude < LOG_MIN_MAGNITUDE)
    return `is ${value}, smaller in magnitude than the prediction log stores (at least 1E-130, or 0)`;
  return undefined;
}

/**
 * Checks instances against the spec of the version that will answer (the definition it was trained
 * with, not the one this code was deployed with: that is what prevents skew). Every problem of every
 * instance is listed; the message names the first.
 */
export function validateInstances(
  spec: FeatureSpec,
  instances: readonly unknown[],
  maxInstances: number,
): ValidatedInstances {
  if (instances.length > maxInstances) {
    return invalid(
      `"instances" has ${instances.length} items; at most ${maxInstances} are allowed per request.`,
    );
  }
  const rows: CleanRow[] = [];
  const errors: InstanceError[] = [];
  for (const [i, instance] of instances.entries()) {
    if (instance === null || typeof instance !== 'object' || Array.isArray(instance)) {
      errors.push({ instance: i, field: '(instance)', message: 'must be a JSON object of feature fields' });
      continue;
    }
    const fields = instance as Record<string, unknown>;
    // An instance with none of the model's features is a client's mistake, not an all-missing applicant.
    if (!spec.features.some((f) => fields[f.name] !== undefined && fields[f.name] !== null)) {
      errors.push({
        instance: i,
        field: '(instance)',
        message: `has none of the model's features (${spec.features.map((f) => f.name).join(', ')})`,
      });
      continue;
    }
    const res = validateRow(spec, fields, 'json');
    if (!res.ok) {
      for (const e of res.errors) errors.push({ instance: i, ...e });
      continue;
    }
    let storable = true;
    for (const f of spec.features) {
      const value = res.row[f.name];
      const why = typeof value === 'number' ? unloggable(value) : undefined;
      if (why) {
        errors.push({ instance: i, field: f.name, message: why });
        storable = false;
      }
    }
    if (storable) rows.push(res.row);
  }
  if (errors.length > 0) {
    const first = errors[0]!;
    return invalid(
      `instances[${first.instance}].${first.field} ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more problem(s))` : ''}.`,
      errors,
    );
  }
  return { ok: true, rows };
}
