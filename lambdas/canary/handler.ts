import { systemClock } from '../../core/ports.ts';
import { predictionLog, registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type CanaryInput, runCanary } from './core.ts';

export const handler = taskHandler((input: CanaryInput) =>
  runCanary(input, {
    registry: registry(),
    readWindow: (model, from, to) => predictionLog().readWindow(model, from, to),
    clock: systemClock,
  }),
);
