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
    const res = validateRow(spec, instance as Record<string, unknown>, 'json');
    if (res.ok) rows.push(res.row);
    else for (const e of res.errors) errors.push({ instance: i, ...e });
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
