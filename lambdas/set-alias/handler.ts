import { registry } from '../shared/deps.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type SetAliasInput, setAlias } from './core.ts';

export const handler = taskHandler((input: SetAliasInput) => setAlias(input, { registry: registry() }));
