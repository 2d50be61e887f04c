import { lakeStore, registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DeployInput, deployModel } from './core.ts';

export const handler = taskHandler((input: DeployInput) =>
  deployModel(input, { registry: registry(), lake: lakeStore() }),
);
