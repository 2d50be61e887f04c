import { registry } from '../shared/deps.ts';
import { getModel } from '../shared/models.ts';
import { systemClock } from '../shared/ports.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type GuardrailInput, runGuardrail } from './core.ts';

export const handler = taskHandler((input: GuardrailInput) =>
  runGuardrail(input, getModel(input.model), { registry: registry(), clock: systemClock }),
);
