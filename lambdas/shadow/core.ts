/**
 * The shadow function's core: checks the hand-off event (a copy of a prediction request for a
 * model's shadow version) and scores it with the shadow version's own definition, logging rows with
 * the route `shadow`. It answers nobody; what goes wrong is in its rows and logs.
 */
import { type ShadowCopy, type ShadowDeps, scoreShadow } from '../shared/serving.ts';

/** The event's problem, or undefined for a well-formed copy. */
export function shadowEventProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'the event is not an object';
  const e = event as Record<string, unknown>;
  if (typeof e.model !== 'string' || e.model === '') return 'model is not a non-empty string';
  if (!Number.isSafeInteger(e.version) || (e.version as number) < 1)
    return 'version is not a positive whole number';
  if (typeof e.requestId !== 'string' || e.requestId === '') return 'requestId is not a non-empty string';
  if (!Array.isArray(e.instances) || e.instances.length === 0) return 'instances is not a non-empty array';
  if (!e.instances.every((i) => typeof i === 'object' && i !== null && !Array.isArray(i)))
    return 'instances holds something other than objects';
  if (e.client !== undefined && typeof e.client !== 'string') return 'client is not a string';
  return undefined;
}

/** Scores a shadow copy; a malformed event is refused with an error naming the problem. */
export async function shadowTask(event: unknown, deps: ShadowDeps): Promise<void> {
  const problem = shadowEventProblem(event);
  if (problem) {
    const err = new Error(`Shadow copy refused: ${problem}.`);
    err.name = 'InvalidShadowCopy';
    throw err;
  }
  await scoreShadow(event as ShadowCopy, deps);
}
