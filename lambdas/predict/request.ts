/**
 * Request parsing and validation, pure: the envelope (method, content type, size, a JSON object
 * holding `instances` and nothing else, at most the deployed model's number of them) before any
 * model is looked up, and the instances against the serving version's feature spec once it is
 * known. A refusal names what was wrong.
 *
 * These are the checks of the request model API Gateway validates against
 * (core/serving/request-schema.ts), from the same constants: the twin and direct invocations have
 * no gateway, and a property test holds the two to each other. Beyond the schema, the function
 * refuses what JSON Schema cannot say: a body over {@link MAX_BODY_BYTES}, strings that are not
 * well-formed Unicode (a lone surrogate, sent as a `\ud800` escape, could not be stored as sent),
 * and a non-zero number token that JSON.parse reads as 0 (API Gateway, comparing decimals, refuses
 * it by the schema's bounds; after JSON.parse no validator can see it).
 */

import type { FeatureSpec } from '../../core/features/spec.ts';
import { type CleanRow, validateRow } from '../../core/features/transform.ts';
import {
  LOG_MAGNITUDE_LIMIT,
  LOG_MIN_MAGNITUDE,
  MAX_CATEGORY_LENGTH,
} from '../../core/serving/request-schema.ts';
import { deployedModels } from '../shared/models.ts';
import { type HttpRequest, header, type InstanceError } from './http.ts';

/**
 * The largest body the function reads, in bytes. The largest request a deployed model admits
 * written compactly is far smaller (100 credit instances with every category at its longest are
 * about 350 KB); API Gateway's own limit is 10 MB and Lambda's 6 MB, so without this a client could
 * make the function parse megabytes of whitespace or junk before being told no.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Why a request is refused before it reaches a model. */
export interface Refusal {
  status: 400 | 405 | 413 | 415;
  error: 'InvalidRequest' | 'MethodNotAllowed' | 'PayloadTooLarge' | 'UnsupportedMediaType';
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

const tooLarge = (message: string): { ok: false; refusal: Refusal } => ({
  ok: false,
  refusal: { status: 413, error: 'PayloadTooLarge', message },
});

/** Limits known before any model is loaded: the deployed definition's, when the model is deployed. */
export interface RequestLimits {
  /** The deployed definition's `serving.maxInstancesPerRequest`, when the model is deployed. */
  maxInstances?: number;
}

/** The model a request is for: its path parameter, else the model its path names, else the default. */
export function requestedModel(req: Pick<HttpRequest, 'modelParam' | 'path'>, defaultModel: string): string {
  return req.modelParam ?? modelInPath(req.path) ?? defaultModel;
}

/**
 * The model a path names (`.../models/<model>/predict`), or undefined for `/v1/predict`. A deployed
 * model's route is a literal resource, for which API Gateway sends no path parameters, so the name
 * is read from the path itself.
 */
export function modelInPath(path: string): string | undefined {
  if (!path.includes('/models/')) return undefined;
  const found = /\/models\/([^/]+)\/predict\/?$/.exec(path);
  if (!found) return undefined;
  try {
    return decodeURIComponent(found[1]!);
  } catch {
    return found[1]!;
  }
}

/**
 * The limits of a model as deployed: its definition is compiled into the bundle, so this reads no
 * table or object. A model that is not deployed has none here (its request is answered 404 later).
 */
export async function deployedLimits(model: string): Promise<RequestLimits> {
  const known = limitsByModel?.get(model);
  if (known) return known;
  limitsByModel ??= new Map(
    (await deployedModels()).map((m) => [m.name, { maxInstances: m.serving.maxInstancesPerRequest }]),
  );
  return limitsByModel.get(model) ?? NO_LIMITS;
}

/** The deployed models' limits by name, read once per instance. */
let limitsByModel: Map<string, RequestLimits> | undefined;
const NO_LIMITS: RequestLimits = {};

/** The limits {@link deployedLimits} has already read, without waiting: undefined until it has. */
export function knownLimits(model: string): RequestLimits | undefined {
  return limitsByModel ? (limitsByModel.get(model) ?? NO_LIMITS) : undefined;
}

/**
 * Parses a request's envelope: POST, `application/json`, at most {@link MAX_BODY_BYTES},
 * `{"instances": [...]}` with at least one and at most `limits.maxInstances` (else 413).
 */
export function parseRequest(
  req: Pick<HttpRequest, 'method' | 'headers' | 'body' | 'isBase64Encoded'>,
  limits: RequestLimits = {},
): ParsedRequest {
  if (req.method !== 'POST' && req.method.toUpperCase() !== 'POST') {
    return {
      ok: false,
      refusal: { status: 405, error: 'MethodNotAllowed', message: `Use POST, not ${req.method}.` },
    };
  }
  const contentType = header(req, 'content-type');
  if (
    contentType !== 'application/json' &&
    (!contentType || !/^application\/json\s*(;|$)/i.test(contentType.trim()))
  ) {
    return {
      ok: false,
      refusal: {
        status: 415,
        error: 'UnsupportedMediaType',
        message: `Content-Type must be application/json, got ${contentType ? `"${contentType}"` : 'none'}.`,
      },
    };
  }
  let text: string;
  if (req.body == null) text = '';
  else if (req.isBase64Encoded) {
    const bytes = Buffer.from(req.body, 'base64');
    if (bytes.length > MAX_BODY_BYTES) {
      return tooLarge(`The body is ${bytes.length} bytes; at most ${MAX_BODY_BYTES} are accepted.`);
    }
    text = bytes.toString('utf8');
  } else {
    // A UTF-16 unit is at most 3 UTF-8 bytes: only a body that could be too large is measured.
    const size = req.body.length * 3 <= MAX_BODY_BYTES ? 0 : Buffer.byteLength(req.body, 'utf8');
    if (size > MAX_BODY_BYTES) {
      return tooLarge(`The body is ${size} bytes; at most ${MAX_BODY_BYTES} are accepted.`);
    }
    text = req.body;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return invalid(`The body is not valid JSON: ${(err as Error).message}.`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return invalid('The body must be a JSON object: {"instances": [{...}, ...]}.');
  }
  const underflow = underflowingNumber(text);
  if (underflow !== undefined) {
    return invalid(
      `The body holds the number ${underflow.length > 40 ? `${underflow.slice(0, 37)}...` : underflow}: non-zero, but smaller in magnitude than the prediction log stores (at least 1E-130, or 0); it would be read as 0.`,
    );
  }
  const instances = (body as { instances?: unknown }).instances;
  if (!Array.isArray(instances))
    return invalid('"instances" must be an array of objects, one per prediction.');
  if (instances.length === 0) return invalid('"instances" is empty: send at least one instance.');
  for (const key in body) {
    if (key !== 'instances') {
      const extraKeys = Object.keys(body).filter((k) => k !== 'instances');
      return invalid(`Unknown top-level field(s): ${extraKeys.join(', ')}.`);
    }
  }
  if (limits.maxInstances !== undefined && instances.length > limits.maxInstances)
    return tooMany(instances.length, limits.maxInstances);
  return { ok: true, instances };
}

/** JSON strings (skipped, escapes and all) and number tokens, in order. */
const JSON_TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * A number token of a JSON text that a parser reads as 0 though it is not zero (`1e-400`): the value
 * would be scored and logged as 0, not as sent. API Gateway compares the decimal and refuses it by
 * the request model's bounds; JSON.parse has already rounded it away, so the text is read here.
 */
export function underflowingNumber(text: string): string | undefined {
  if (!mayUnderflow(text)) return undefined;
  for (const [token] of text.matchAll(JSON_TOKENS)) {
    if (token.startsWith('"')) continue;
    if (Number(token) === 0 && /[1-9]/.test(token.split(/[eE]/)[0]!)) return token;
  }
  return undefined;
}

/** 0. and 300 zeros: the start of a fraction too small for a double without an exponent. */
const ZEROS_300 = `0.${'0'.repeat(300)}`;

/**
 * Whether a JSON text could hold a number token read as 0 though not zero: only one with a negative
 * exponent or a fraction of at least 300 zeros can be (the smallest double is 4.9E-324). Most bodies
 * hold no `-` at all and are shorter than the fraction, which is told without a regular expression.
 */
function mayUnderflow(text: string): boolean {
  return (
    (text.includes('-') && /[eE]-/.test(text)) ||
    (text.length >= ZEROS_300.length && text.includes(ZEROS_300))
  );
}

function tooMany(count: number, max: number): { ok: false; refusal: Refusal } {
  return tooLarge(`"instances" has ${count} items; at most ${max} are allowed per request.`);
}

/** A string's length in code points, as JSON Schema's `maxLength` counts it (a lone surrogate is one). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** Why a categorical value cannot be taken as sent, or undefined when it can. */
function unstorableCategory(value: string): string | undefined {
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed())
    return 'is not well-formed Unicode (it holds a lone surrogate, such as "\\ud800")';
  // No more UTF-16 units than the limit: no more code points either.
  if (value.length <= MAX_CATEGORY_LENGTH) return undefined;
  const length = codePointLength(value);
  if (length > MAX_CATEGORY_LENGTH)
    return `is ${length} characters long; a category is at most ${MAX_CATEGORY_LENGTH}`;
  return undefined;
}

/** Why a number the spec accepts cannot be logged, or undefined when it can. */
function unloggable(value: number): string | undefined {
  const magnitude = Math.abs(value);
  if (magnitude >= LOG_MAGNITUDE_LIMIT)
    return `is ${value}, larger in magnitude than the prediction log stores (at most 9.99E+125)`;
  if (magnitude !== 0 && magnitude < LOG_MIN_MAGNITUDE)
    return `is ${value}, smaller in magnitude than the prediction log stores (at least 1E-130, or 0)`;
  return undefined;
}

/** Whether an instance sends any of the spec's features (a value other than null). */
function hasFeature(spec: FeatureSpec, fields: Record<string, unknown>): boolean {
  return spec.features.some((f) => fields[f.name] !== undefined && fields[f.name] !== null);
}

/** An instance with none of the model's features is a client's mistake, not an all-missing applicant. */
function noFeatures(spec: FeatureSpec, instance: number): InstanceError {
  return {
    instance,
    field: '(instance)',
    message: `has none of the model's features (${spec.features.map((f) => f.name).join(', ')})`,
  };
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
  if (instances.length > maxInstances) return tooMany(instances.length, maxInstances);
  const rows: CleanRow[] = [];
  const errors: InstanceError[] = [];
  for (let i = 0; i < instances.length; i++) {
    const instance = instances[i];
    if (instance === null || typeof instance !== 'object' || Array.isArray(instance)) {
      errors.push({ instance: i, field: '(instance)', message: 'must be a JSON object of feature fields' });
      continue;
    }
    const fields = instance as Record<string, unknown>;
    const res = validateRow(spec, fields, 'json');
    if (!res.ok) {
      if (hasFeature(spec, fields)) for (const e of res.errors) errors.push({ instance: i, ...e });
      else errors.push(noFeatures(spec, i));
      continue;
    }
    // The row holds each feature in the spec's order (no name is an array index, which would come
    // first), null for each the instance does not send.
    const { row } = res;
    let present = false;
    let storable = true;
    for (const name in row) {
      const value = row[name];
      if (value === null || value === undefined) continue;
      present = true;
      const why =
        typeof value === 'number'
          ? unloggable(value)
          : typeof value === 'string'
            ? unstorableCategory(value)
            : undefined;
      if (why) {
        errors.push({ instance: i, field: name, message: why });
        storable = false;
      }
    }
    if (!present) errors.push(noFeatures(spec, i));
    else if (storable) rows.push(res.row);
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
