/**
 * The {@link ModelRuntime} port on a SageMaker endpoint (serving mode `endpoint`), with the
 * endpoint's faults bounded:
 *
 * - each call to a variant is cut off after `attemptTimeoutMs` (the HTTP request is aborted);
 * - a retryable failure (a 5xx or throttling answer, a model container's 5xx, a timeout, a
 *   connection error) is tried again, at most `attempts` calls in all, after an exponential backoff
 *   with decorrelated jitter; a 4xx (the request's fault, or a model's 4xx) is not. The SDK client
 *   makes one attempt per call (`makeSageMakerRuntimeClient` sets `maxAttempts: 1`), so every
 *   attempt is counted here;
 * - each variant has a circuit: after `failuresToOpen` consecutive retryable failures it opens, and
 *   for `halfOpenAfterMs` every call to that variant is refused at once with a
 *   {@link CircuitOpenError} naming the seconds left (the predict function answers 503 with that
 *   `Retry-After`); then one trial call goes through (others are refused while it runs) and its
 *   outcome closes the circuit or opens it again.
 *
 * The circuits live as long as the runtime (a warm function instance): each instance learns on its
 * own, which bounds what a failing variant costs that instance rather than coordinating instances.
 *
 * The response must name the variant asked for (`InvokedProductionVariant`): scores from another
 * variant would be logged and answered under the wrong version, so that is an error, not a score.
 */
import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandOutput,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  isBrokenCircuitError,
  isTaskCancelledError,
  type RetryPolicy,
  retry,
  type TimeoutPolicy,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import type { ModelRuntime } from '../../../../core/ports.ts';
import { endpointNames } from '../../../../core/serving/endpoint-names.ts';
import { variantName } from '../../../../core/serving/endpoint-plan.ts';
import { CircuitOpenError, vectorsToCsv } from '../../../../core/serving/runtime.ts';

/** How calls to an endpoint's variants are bounded. */
export interface EndpointResilience {
  /** The longest one call to a variant may take. */
  readonly attemptTimeoutMs: number;
  /** Calls per request at most, the first included. */
  readonly attempts: number;
  /** The first retry's backoff before jitter; each next one grows up to `maxBackoffMs`. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Consecutive retryable failures of a variant that open its circuit. */
  readonly failuresToOpen: number;
  /** How long an open circuit refuses calls before a trial call. */
  readonly halfOpenAfterMs: number;
}

/**
 * The predict function's bounds: three calls of at most 2 s with backoffs under 0.4 s stay within its
 * 10 s timeout with room for the log write; five consecutive failures open a variant's circuit for 10 s.
 */
export const defaultEndpointResilience: EndpointResilience = {
  attemptTimeoutMs: 2_000,
  attempts: 3,
  initialBackoffMs: 50,
  maxBackoffMs: 400,
  failuresToOpen: 5,
  halfOpenAfterMs: 10_000,
};

/** SDK error names that mean "too much traffic, try again". */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ServiceUnavailable',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  OriginalStatusCode?: number;
}

/**
 * Whether a failed call may succeed if made again: timeouts, connection errors, throttling, any 5xx
 * of SageMaker, and a model container's 5xx (SageMaker's 424 ModelError carries the container's
 * status). A 4xx, including a container's 4xx, is the request's fault and answers the same again.
 */
export function isRetryable(err: unknown): boolean {
  if (isTaskCancelledError(err)) return true;
  if (isBrokenCircuitError(err)) return false;
  const e = err as SdkErrorShape;
  if (e.name === 'ModelError') return (e.OriginalStatusCode ?? 500) >= 500;
  if (e.name === 'ModelNotReadyException' || THROTTLING.has(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) {
    // No HTTP answer: the connection failed or was cut (ECONNRESET, ECONNREFUSED, a socket timeout).
    return !(err instanceof EndpointAnswerError);
  }
  return status >= 500 || status === 429;
}

/** An answer the endpoint gave that cannot be served: another variant, or not the scores asked for. */
export class EndpointAnswerError extends Error {
  override readonly name = 'EndpointAnswerError';
}

/** What happened to one variant's calls. */
interface VariantCircuit {
  readonly breaker: CircuitBreakerPolicy;
  /** When the circuit last opened (ms since the epoch). */
  openedAt: number;
}

export class EndpointRuntime implements ModelRuntime {
  readonly mode = 'endpoint' as const;
  private readonly circuits = new Map<string, VariantCircuit>();
  private readonly retry: RetryPolicy;
  private readonly perAttempt: TimeoutPolicy;
  private readonly settings: EndpointResilience;

  constructor(
    private readonly client: SageMakerRuntimeClient,
    private readonly prefix: string,
    settings: Partial<EndpointResilience> = {},
  ) {
    this.settings = { ...defaultEndpointResilience, ...settings };
    const s = this.settings;
    for (const [key, value] of Object.entries(s)) {
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(`EndpointRuntime ${key}: must be a finite number of at least 0, got ${value}`);
      }
    }
    if (s.attempts < 1 || s.failuresToOpen < 1) {
      throw new Error('EndpointRuntime attempts and failuresToOpen: must be at least 1');
    }
    this.perAttempt = timeout(s.attemptTimeoutMs, TimeoutStrategy.Aggressive);
    this.retry = retry(handleWhen(isRetryable), {
      maxAttempts: s.attempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: s.initialBackoffMs, maxDelay: s.maxBackoffMs }),
    });
  }

  async score(model: string, serving: { version: number }, vectors: readonly Float64Array[]) {
    const target = variantName(serving.version);
    const endpoint = endpointNames.endpoint(this.prefix, model);
    const circuit = this.circuit(`${endpoint}/${target}`);
    // A trial call is already deciding whether the variant is back: the others do not queue behind it.
    if (circuit.breaker.state === CircuitState.HalfOpen) throw new CircuitOpenError(target, 1);
    const body = new TextEncoder().encode(vectorsToCsv(vectors));
    let res: InvokeEndpointCommandOutput;
    try {
      res = await this.retry.execute(() =>
        circuit.breaker.execute(() =>
          this.perAttempt.execute(({ signal }) =>
            this.client.send(
              new InvokeEndpointCommand({
                EndpointName: endpoint,
                TargetVariant: target,
                ContentType: 'text/csv',
                Accept: 'application/json',
                Body: body,
              }),
              { abortSignal: signal },
            ),
          ),
        ),
      );
    } catch (err) {
      if (isBrokenCircuitError(err)) throw new CircuitOpenError(target, this.retryAfterSeconds(circuit));
      if (isTaskCancelledError(err)) {
        const e = new Error(
          `variant ${target} of ${endpoint} did not answer within ${this.settings.attemptTimeoutMs} ms`,
        );
        e.name = 'EndpointTimeout';
        throw e;
      }
      throw err;
    }
    const variant = res.InvokedProductionVariant ?? '';
    if (variant !== target) {
      throw new EndpointAnswerError(
        `endpoint answered from variant "${variant}", not the requested ${target}`,
      );
    }
    const parsed = JSON.parse(new TextDecoder().decode(res.Body)) as { scores?: unknown };
    const scores = parsed.scores;
    if (
      !Array.isArray(scores) ||
      scores.length !== vectors.length ||
      !scores.every((s) => typeof s === 'number' && s >= 0 && s <= 1)
    ) {
      throw new EndpointAnswerError(
        `endpoint answered ${Array.isArray(scores) ? scores.length : 'no'} scores for ${vectors.length} rows`,
      );
    }
    return { scores: scores as number[], variant };
  }

  /** The state of a variant's circuit (for tests and diagnostics). */
  circuitState(model: string, version: number): 'closed' | 'open' | 'half-open' {
    const key = `${endpointNames.endpoint(this.prefix, model)}/${variantName(version)}`;
    const state = this.circuits.get(key)?.breaker.state ?? CircuitState.Closed;
    return state === CircuitState.HalfOpen ? 'half-open' : state === CircuitState.Closed ? 'closed' : 'open';
  }

  private circuit(key: string): VariantCircuit {
    let circuit = this.circuits.get(key);
    if (!circuit) {
      const breaker = circuitBreaker(handleWhen(isRetryable), {
        halfOpenAfter: this.settings.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(this.settings.failuresToOpen),
      });
      const created: VariantCircuit = { breaker, openedAt: 0 };
      // The breaker times its open state with Date.now(), so the seconds left are counted the same way.
      breaker.onBreak(() => {
        created.openedAt = Date.now();
      });
      this.circuits.set(key, created);
      circuit = created;
    }
    return circuit;
  }

  private retryAfterSeconds(circuit: VariantCircuit): number {
    const left = circuit.openedAt + this.settings.halfOpenAfterMs - Date.now();
    return Math.max(1, Math.ceil(left / 1000));
  }
}
