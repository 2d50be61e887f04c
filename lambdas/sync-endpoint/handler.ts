import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoModelRegistry } from '../shared/adapters/aws/dynamo-registry.ts';
import { makeSageMakerClient } from '../shared/adapters/aws/sagemaker-client.ts';
import { SageMakerEndpoints } from '../shared/adapters/aws/sagemaker-endpoints.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type SyncInput, syncEndpoint } from './core.ts';
import { syncSettings } from './settings.ts';

const env = parseFunctionEnv('sync-endpoint');
const { logger } = observability(env);
// Checked at cold start: a stage in endpoint mode that lacks a setting fails the init, naming it.
const settings = syncSettings(env);
const registry = new DynamoModelRegistry(makeDocumentClient(), env.REGISTRY_TABLE, systemClock);
const endpoints = new SageMakerEndpoints(makeSageMakerClient());

export const handler = taskHandler(logger, (input: SyncInput) =>
  syncEndpoint(input, { registry, endpoints, clock: systemClock, settings }),
);
