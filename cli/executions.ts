/** Running a state machine on a target with its progress printed, and explaining a failed run. */
import type { MachineKind } from '../contracts/outputs.ts';
import type { ExecutionEvent } from '../contracts/twin-api.ts';
import { dim, info, red } from './print.ts';
import type { ExecutionResult, Target } from './target.ts';

function progress(e: ExecutionEvent): void {
  if (e.type === 'StateEntered' && e.state) info(dim(`→ ${e.state}`));
  if (e.type === 'StateFailed' && e.state)
    info(red(`✗ ${e.state}: ${e.error ?? ''} ${e.cause ? `— ${e.cause}` : ''}`));
}

/** Runs one of the platform's state machines to the end, printing each state as it is entered. */
export function runMachine(target: Target, kind: MachineKind, input: unknown): Promise<ExecutionResult> {
  return target.execute(kind, input, progress);
}

/** The error, its cause and the task error that led to it, in one line. */
export function explainFailure(res: ExecutionResult): string {
  const task = res.taskError
    ? `${res.taskError.state} failed with ${res.taskError.error}: ${res.taskError.cause}`
    : '';
  return [res.error && `${res.error}`, res.cause && res.cause, task].filter(Boolean).join(' — ');
}
