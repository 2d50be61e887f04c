import { systemClock } from '../../core/ports.ts';
import { lakeStore, registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type CompareInput, compareModels } from './core.ts';

export const handler = taskHandler((input: CompareInput) =>
  compareModels(input, { registry: registry(), lake: lakeStore(), clock: systemClock }),
);
