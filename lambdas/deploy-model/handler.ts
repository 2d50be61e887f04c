import { lakeStore, registry } from '../shared/deps.ts';
import { getModel } from '../shared/models.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DeployInput, deployModel } from './core.ts';

export const handler = taskHandler((input: DeployInput) =>
  deployModel(input, getModel(input.model), { registry: registry(), lake: lakeStore() }),
);
