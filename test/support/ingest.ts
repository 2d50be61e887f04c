/** Puts a data set in a lake the way `mlops ingest` does: the raw CSV, its definition, the LATEST pointer. */
import { createHash } from 'node:crypto';
import { lakeKeys } from '../../contracts/lake.ts';
import type { RawPointer } from '../../core/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { ObjectStore } from '../../core/ports.ts';

let counter = 0;

/** Without a definition, training falls back to the deployed one (as for data ingested before definitions travelled with it). */
export async function ingestCsv(
  lake: ObjectStore,
  model: string,
  csv: string,
  definition?: ModelDefinition,
): Promise<RawPointer> {
  const sha256 = createHash('sha256').update(csv).digest('hex');
  const ingestId = `test-${sha256.slice(0, 12)}-${counter++}`;
  const key = lakeKeys.rawData(model, ingestId);
  await lake.put(key, csv, 'text/csv');
  let definitionKey: string | undefined;
  if (definition) {
    definitionKey = lakeKeys.rawDefinition(model, ingestId);
    await lake.put(definitionKey, JSON.stringify(definition), 'application/json');
  }
  const pointer: RawPointer = {
    key,
    ingestId,
    sha256,
    rows: csv.trimEnd().split('\n').length - 1,
    ingestedAt: new Date().toISOString(),
    ...(definitionKey ? { definitionKey } : {}),
  };
  await lake.put(lakeKeys.rawLatest(model), JSON.stringify(pointer), 'application/json');
  return pointer;
}

/** The environment the prepare step gets from its construct, with placeholder values. */
export const prepareEnv = {
  trainingSourceUri: 's3://code/sourcedir.tar.gz',
  trainingCodeSha256: 'c',
  featureCodeSha256: 'f',
  trainingImageUri: 'img',
};
