/**
 * The training-lease function: the lease adapter on the registry table, and the registry adapter for
 * the audit items only (the function's role may get, put and delete items, nothing else).
 */
import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoLeases } from '../shared/adapters/aws/dynamo-leases.ts';
import { DynamoModelRegistry } from '../shared/adapters/aws/dynamo-registry.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type AcquireInput, leaseTask, type ReleaseInput } from './core.ts';

const env = parseFunctionEnv('training-lease');
const { logger } = observability(env);
const db = makeDocumentClient();
const deps = {
  leases: new DynamoLeases(db, env.REGISTRY_TABLE),
  registry: new DynamoModelRegistry(db, env.REGISTRY_TABLE, systemClock),
  clock: systemClock,
  leaseMinutes: (model: string) => env.LEASE_MINUTES[model] ?? env.DEFAULT_LEASE_MINUTES,
};

export const handler = taskHandler(logger, (input: AcquireInput | ReleaseInput) => leaseTask(input, deps));
