import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoModelRegistry } from '../shared/adapters/aws/dynamo-registry.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DecideInput, type MoveInput, rollbackTask } from './core.ts';

const env = parseFunctionEnv('rollback');
const { logger } = observability(env);
const registry = new DynamoModelRegistry(makeDocumentClient(), env.REGISTRY_TABLE, systemClock);
const deps = { registry, clock: systemClock };

export const handler = taskHandler(logger, (input: DecideInput | MoveInput) => rollbackTask(input, deps));
