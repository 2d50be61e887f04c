/**
 * Idempotent retries of the prediction API, with Powertools idempotency: a request carrying an
 * `Idempotency-Key` header is answered once per key, model and client within the window
 * (`IDEMPOTENCY_TTL_SECONDS`); a retry in the window gets the stored answer (same status, version,
 * scores and request id) and writes no second log row.
 *
 * - The key is scoped by model and client: two clients, or two models, may use the same key.
 * - The body is the payload Powertools validates: the same key with another body is a 422.
 * - A retry while the first request is still being answered is a 409 with Retry-After.
 * - Only 2xx answers are kept: a 4xx or 5xx deletes the in-progress record, so a retry runs again.
 * - A malformed key is a 400 naming the header; the store being unreachable is a 503.
 *
 * These answers are not counted in the model's 5xx rate (`serverErrors`): no version served them.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { ANONYMOUS_CLIENT } from '../../contracts/metrics.ts';
import { type HttpRequest, type HttpResponse, header, json, problem } from './http.ts';
import type { PredictMetric } from './serving.ts';

/** The request header carrying the client's idempotency key (its name's case does not matter). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** What a key may be: 1 to 128 letters, digits and `.`, `_`, `:`, `-` (a UUID, a ULID, `order-42:try`). */
export const IDEMPOTENCY_KEY_FORMAT = /^[A-Za-z0-9._:-]{1,128}$/;

/** Seconds a client waits before retrying a request whose first attempt is still being answered. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = '1';

/** The response header that marks an answer replayed from the idempotency store. */
export const REPLAY_HEADER = 'idempotent-replayed';

/** What idempotent answering needs. */
export interface IdempotencyDeps {
  /** Where answers are kept (Powertools' DynamoDB persistence layer, on the idempotency table). */
  store: BasePersistenceLayer;
  /** How long an answer is kept for a retry, in seconds. */
  ttlSeconds: number;
  metric: (model: string, metric: PredictMetric, value: number) => void;
  onError: (err: unknown, context: Record<string, unknown>) => void;
}

/** Whose request it is: the key is scoped by both. */
export interface IdempotencyScope {
  model: string;
  /** The API key's id (or the client's name); a request without one shares the anonymous scope. */
  client?: string;
  requestId: string;
}

/** The payload Powertools hashes: the scoped key (the record's id) and the body (validated). */
interface KeyedRequest {
  scope: { model: string; client: string; key: string };
  body: string;
}

/** An answer that is not kept: thrown through Powertools so that it deletes the in-progress record. */
class AnswerNotKept extends Error {
  override readonly name = 'AnswerNotKept';
  constructor(readonly response: HttpResponse) {
    super(`answer ${response.statusCode} is not kept`);
  }
}

/**
 * Answers a request that carries an Idempotency-Key: runs `answer` once per scoped key within the
 * window, and replays its 2xx answer to retries.
 */
export async function answerIdempotently(
  req: HttpRequest,
  scope: IdempotencyScope,
  answer: () => Promise<HttpResponse>,
  deps: IdempotencyDeps,
  /** The function's remaining time: a first attempt holds its key at most this long. */
  remainingTimeMs: () => number,
): Promise<HttpResponse> {
  const { model, requestId } = scope;
  const key = header(req, IDEMPOTENCY_HEADER) ?? '';
  if (!IDEMPOTENCY_KEY_FORMAT.test(key)) {
    deps.metric(model, 'invalidRequests', 1);
    return problem(
      400,
      'InvalidIdempotencyKey',
      `The ${IDEMPOTENCY_HEADER} header must be 1 to 128 characters, each a letter, a digit, ".", "_", ":" or "-".`,
      requestId,
    );
  }

  const payload: KeyedRequest = {
    scope: { model, client: scope.client ?? ANONYMOUS_CLIENT, key },
    body: req.isBase64Encoded ? Buffer.from(req.body ?? '', 'base64').toString('utf8') : (req.body ?? ''),
  };
  let ran: HttpResponse | undefined;
  const once = makeIdempotent(
    async (_payload: KeyedRequest): Promise<HttpResponse> => {
      ran = await answer();
      if (ran.statusCode < 200 || ran.statusCode > 299) throw new AnswerNotKept(ran);
      return ran;
    },
    {
      persistenceStore: deps.store,
      keyPrefix: 'predict',
      config: new IdempotencyConfig({
        eventKeyJmesPath: 'scope',
        payloadValidationJmesPath: 'body',
        throwOnNoIdempotencyKey: true,
        expiresAfterSeconds: deps.ttlSeconds,
        lambdaContext: { getRemainingTimeInMillis: remainingTimeMs } as Context,
      }),
    },
  );

  try {
    const res = await once(payload);
    if (ran !== undefined) return res;
    deps.metric(model, 'idempotentReplays', 1);
    return { ...res, headers: { ...res.headers, [REPLAY_HEADER]: 'true' } };
  } catch (err) {
    if (err instanceof AnswerNotKept) return err.response;
    const name = (err as { name?: string }).name;
    // The answer was computed (and logged) but the store could not keep or release it: it stands.
    if (ran !== undefined) {
      deps.onError(err, { model, requestId, stage: 'idempotency-store' });
      return ran;
    }
    if (name === 'IdempotencyValidationError') {
      deps.metric(model, 'invalidRequests', 1);
      return problem(
        422,
        'IdempotencyKeyReused',
        `The ${IDEMPOTENCY_HEADER} "${key}" was already used with a different request body for model "${model}"; send a new key for a new request.`,
        requestId,
      );
    }
    if (name === 'IdempotencyAlreadyInProgressError') {
      return json(
        409,
        {
          error: 'IdempotencyKeyInProgress',
          message: `A request with ${IDEMPOTENCY_HEADER} "${key}" is still being answered; retry it shortly to get its answer.`,
          requestId,
        },
        { 'retry-after': IN_PROGRESS_RETRY_AFTER_SECONDS },
      );
    }
    deps.metric(model, 'upstreamErrors', 1);
    deps.onError(err, { model, requestId, stage: 'idempotency-store' });
    return problem(
      503,
      'IdempotencyStoreUnavailable',
      `The answer to ${IDEMPOTENCY_HEADER} "${key}" cannot be looked up right now; retry.`,
      requestId,
    );
  }
}
