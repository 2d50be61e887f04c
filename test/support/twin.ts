/** Boots the local twin from the assembly the global setup synthesized (or another one). */

import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { ObjectStore } from '../../core/ports.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../../lambdas/shared/adapters/aws/clients.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { createTwinServer } from '../../local/server.ts';
import { LocalTwin, type TwinOptions } from '../../local/twin.ts';
import { ingestCsv } from './ingest.ts';

export interface TestTwin {
  twin: LocalTwin;
  lake: ObjectStore;
  registry: DynamoModelRegistry;
  /** Puts CSV text in the lake as the model's latest raw data, as `mlops ingest` does. */
  ingestText(model: string, csv: string): Promise<void>;
}

/**
 * A started twin with the lake and registry adapters a test reads and writes through; `options`
 * turn on the twin's monitoring, for one.
 */
export async function startTestTwin(
  assemblyDir: string = inject('assemblyDir'),
  options: Omit<TwinOptions, 'assemblyDir'> = {},
): Promise<TestTwin> {
  const twin = new LocalTwin({ ...options, assemblyDir });
  await twin.start();
  const lake = twin.store(twin.resolver.output('LakeBucketName')!);
  const registry = new DynamoModelRegistry(
    makeDocumentClient(twin.clientTarget()),
    twin.resolver.output('RegistryTableName')!,
    systemClock,
  );
  return {
    twin,
    lake,
    registry,
    async ingestText(model, csv) {
      await ingestCsv(lake, model, csv);
    },
  };
}

/** The demo data with the label column shuffled: a model trained on it learns nothing (AUC about 0.5). */
export function shuffledLabels(csv: string, seed = 1): string {
  const lines = csv.trimEnd().split('\n');
  const [header, ...rows] = lines as [string, ...string[]];
  const labels = rows.map((r) => r.slice(0, r.indexOf(',')));
  let s = seed;
  for (let i = labels.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return `${[header, ...rows.map((r, i) => labels[i] + r.slice(r.indexOf(',')))].join('\n')}\n`;
}

/**
 * Synthesizes the app with the config's short monitoring settings (`fast: true`: 60 s alarm periods,
 * 1 of 1 datapoints, drift every minute) into a fresh temp dir, as `mlops local up --fast` does.
 */
export async function synthesizeFast(stage = 'test'): Promise<string> {
  const [{ synthesize }, { buildConfig, loadModels, readCdkJsonContext }, { MODELS_DIR }] = await Promise.all(
    [import('../../lib/synth.ts'), import('../../lib/config.ts'), import('../../lib/paths.ts')],
  );
  const raw = { ...((readCdkJsonContext().mlops as Record<string, unknown>) ?? {}), stage, fast: true };
  return synthesize(
    mkdtempSync(join(tmpdir(), 'mlops-test-fast-')),
    buildConfig(raw, loadModels(MODELS_DIR)),
  );
}

/** Serves a twin's API and control API on a free loopback port. */
export async function serveTwin(twin: LocalTwin): Promise<{ url: string; close(): Promise<void> }> {
  const server = createTwinServer(twin);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
