import { systemClock } from '../../core/ports.ts';
import { registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type RegisterInput, registerModel } from './core.ts';

export const handler = taskHandler((input: RegisterInput) =>
  registerModel(input, { registry: registry(), clock: systemClock }),
);
