import { systemClock } from '../../core/ports.ts';
import { lakeStore, registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type GuardrailInput, runGuardrail } from './core.ts';

export const handler = taskHandler((input: GuardrailInput) =>
  runGuardrail(input, { registry: registry(), lake: lakeStore(), clock: systemClock }),
);
