import { registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type MarkFailedInput, markFailed } from './core.ts';

export const handler = taskHandler((input: MarkFailedInput) => markFailed(input, { registry: registry() }));
