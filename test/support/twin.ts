/** Boots the local twin from the assembly the global setup synthesized (or another one). */

import { inject } from 'vitest';
import type { ObjectStore } from '../../core/ports.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../../lambdas/shared/adapters/aws/clients.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { LocalTwin } from '../../local/twin.ts';
import { ingestCsv } from './ingest.ts';

export interface TestTwin {
  twin: LocalTwin;
  lake: ObjectStore;
  registry: DynamoModelRegistry;
  /** Puts CSV text in the lake as the model's latest raw data, as `mlops ingest` does. */
  ingestText(model: string, csv: string): Promise<void>;
}

/** A started twin with the lake and registry adapters a test reads and writes through. */
export async function startTestTwin(assemblyDir: string = inject('assemblyDir')): Promise<TestTwin> {
  const twin = new LocalTwin({ assemblyDir });
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
