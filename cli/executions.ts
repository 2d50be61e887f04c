/** Running a state machine on a target with its progress printed, and explaining a failed run. */
import type { MachineKind } from '../contracts/outputs.ts';
import { ExecutionProgress, type ProgressOptions } from './progress.ts';
import type { ExecutionResult, Target } from './target.ts';

/**
 * Runs one of the platform's state machines to the end with its progress shown: on a terminal a
 * spinner on the running state and a line with the duration of each state that ends; otherwise a
 * line per state entered.
 */
export async function runMachine(
  target: Target,
  kind: MachineKind,
  input: unknown,
  progressOptions: ProgressOptions = {},
): Promise<ExecutionResult> {
  const progress = new ExecutionProgress(progressOptions);
  try {
    return await target.execute(kind, input, (e) => progress.event(e));
  } finally {
    progress.finish();
  }
}

/** The error, its cause and the task error that led to it, in one line. */
export function explainFailure(res: ExecutionResult): string {
  const task = res.taskError
    ? `${res.taskError.state} failed with ${res.taskError.error}: ${res.taskError.cause}`
    : '';
  return [res.error && `${res.error}`, res.cause && res.cause, task].filter(Boolean).join(' — ');
}
