import { lakeStore } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type EvaluateInput, evaluateModel } from './core.ts';

export const handler = taskHandler((input: EvaluateInput) => evaluateModel(input, { lake: lakeStore() }));
