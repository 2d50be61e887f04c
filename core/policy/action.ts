/**
 * What started an automatic action (a retraining run, a rollback) and the sentence the audit trail
 * records as its cause. The retraining lease and the rollback decision share it, so both name their
 * causes the same way. Written by hand, without a schema library: the state machines hand their
 * input through unchanged, and the functions that read it keep no zod in their bundles.
 */
import { errorNames, PlatformError } from '../errors.ts';
import type { ActionRecord } from '../registry/model.ts';

/** Who or what started an action. */
export type ActionTrigger = ActionRecord['trigger'];

/** The trigger fields of a state machine's input, checked. */
export interface TriggerFields {
  trigger: ActionTrigger;
  /** The alarm that fired (trigger `alarm`). */
  alarm?: string;
  /** Why: the operator's words, the alarm's state reason, the schedule. */
  reason?: string;
}

/** The longest reason kept; alarm state reasons can be long, the audit item need not be. */
const MAX_REASON = 1000;

function invalid(message: string): PlatformError {
  return new PlatformError(errorNames.invalidInput, message);
}

/** An optional string field: absent and null are absent, anything else must be a string. */
function optionalText(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${key} must be a string, got ${JSON.stringify(value)}`);
  const text = value.trim();
  return text.length === 0 ? undefined : text.slice(0, MAX_REASON);
}

/** The model named by a state machine's input, or InvalidInput. */
export function modelOf(raw: unknown): string {
  const model = (raw as { model?: unknown } | null)?.model;
  if (typeof model !== 'string' || model.length === 0) {
    throw invalid(`the input needs "model" (a model name), got ${JSON.stringify(raw)}`);
  }
  return model;
}

/**
 * Reads `trigger` (default `operator`), `alarm` and `reason` from a state machine's input; a
 * trigger outside `allowed` is InvalidInput naming the allowed ones.
 */
export function parseTrigger(raw: unknown, allowed: readonly ActionTrigger[]): TriggerFields {
  const input = (raw ?? {}) as Record<string, unknown>;
  const trigger = input.trigger ?? 'operator';
  if (typeof trigger !== 'string' || !(allowed as readonly string[]).includes(trigger)) {
    throw invalid(`trigger must be one of ${allowed.join(', ')}, got ${JSON.stringify(input.trigger)}`);
  }
  const alarm = optionalText(input, 'alarm');
  const reason = optionalText(input, 'reason');
  return {
    trigger: trigger as ActionTrigger,
    ...(alarm !== undefined ? { alarm } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** The audit trail's sentence for what started an action: the alarm and its reason, the schedule, the operator's words. */
export function actionCause(t: TriggerFields): string {
  const why = t.reason ?? 'no reason given';
  switch (t.trigger) {
    case 'alarm':
      return `alarm ${t.alarm ?? '(unnamed)'}: ${why}`;
    case 'schedule':
      return `scheduled: ${why}`;
    case 'operator':
      return `operator: ${why}`;
  }
}
