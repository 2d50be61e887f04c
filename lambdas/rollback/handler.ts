import { registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type RollbackInput, rollback } from './core.ts';

export const handler = taskHandler((input: RollbackInput) => rollback(input, { registry: registry() }));
