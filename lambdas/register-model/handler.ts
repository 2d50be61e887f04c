import { registry } from '../shared/deps.ts';
import { systemClock } from '../shared/ports.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type RegisterInput, registerModel } from './core.ts';

export const handler = taskHandler((input: RegisterInput) =>
  registerModel(input, { registry: registry(), clock: systemClock }),
);
