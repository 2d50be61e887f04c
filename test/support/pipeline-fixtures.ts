/**
 * Starting points for pipeline tests, each in a model partition of its own. A test names a fresh
 * model ({@link freshModel}) and ingests the credit data under it with the credit definition
 * renamed, as `mlops ingest --spec` does for a model that exists only in the lake; its registry
 * versions, production alias, prediction-log rows, golden set and endpoint are then its own, so it
 * passes alone and in any order in a twin shared with the other tests of its file.
 *
 * Training costs seconds, so a test that only needs a version to exist (an incumbent, a candidate
 * whose promotion it watches) gets a copy of a run trained once per twin: {@link givenCandidate}
 * registers that run's record in the test's partition, with copies of the artifacts of its own (a
 * test may corrupt them) and the test's definition. Training is reproducible byte for byte
 * (training.test.ts proves it) and reads only the data, the seed and the definition's spec,
 * training, serving and drift settings, so the copy holds the bytes a run of its own would have
 * produced; its promotion and guardrail settings are the test's, and its lineage (snapshot,
 * manifest hash, job) names the run it was copied from. Tests of the training pipeline itself run it
 * on data ingested under their own model ({@link ingestAs}).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lakeZones } from '../../contracts/lake.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import { makeDocumentClient } from '../../lambdas/shared/adapters/aws/clients.ts';
import { DynamoLeases } from '../../lambdas/shared/adapters/aws/dynamo-leases.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { ingestCsv } from './ingest.ts';
import type { TestTwin } from './twin.ts';

/** The demo data (data/credit_data.csv). */
export const demoCsv = readFileSync('data/credit_data.csv', 'utf8');

/** The parts of models/credit.json that tests derive definitions from. */
export interface CreditJson extends Record<string, unknown> {
  spec: Record<string, unknown> & { features: unknown[] };
  training: Record<string, unknown>;
  guardrail: Record<string, unknown>;
}

/** models/credit.json as written, for tests that derive a definition from it. */
export const creditJson = JSON.parse(readFileSync('models/credit.json', 'utf8')) as CreditJson;

let models = 0;

/** A model name that no other test of this process uses: `credit-<n>` by default. */
export function freshModel(prefix = 'credit'): string {
  models += 1;
  return `${prefix}-${models}`;
}

/** A definition (models/credit.json by default, raw or parsed) under the name `model`. */
export function definitionOf(
  model: string,
  definition: Record<string, unknown> | ModelDefinition = creditJson,
): ModelDefinition {
  return parseModelDefinition({ ...definition, name: model }, `the definition of test model ${model}`);
}

/** What a training run is made of; each defaults to the demo data, the credit definition, seed 42. */
export interface TrainingInputs {
  definition?: Record<string, unknown> | ModelDefinition;
  csv?: string;
  seed?: number;
}

/** Puts data in the lake as the model's latest, with the definition renamed to the model (as `mlops ingest --spec`). */
export async function ingestAs(
  t: TestTwin,
  model: string,
  inputs: Omit<TrainingInputs, 'seed'> = {},
): Promise<void> {
  await ingestCsv(t.lake, model, inputs.csv ?? demoCsv, definitionOf(model, inputs.definition));
}

/** Runs the training pipeline on the model's latest data; the version it registered, or an error naming the failure. */
export async function runTraining(t: TestTwin, model: string, seed = 42): Promise<number> {
  const run = await t.twin.execute('training', { model, seed });
  if (run.status !== 'SUCCEEDED') {
    throw new Error(
      `Training of ${model} (seed ${seed}) ended ${run.status}: ${JSON.stringify(run.taskError ?? run.error)}`,
    );
  }
  const output = run.output as { version: number } | { refused: true; lease: unknown };
  if ('refused' in output) {
    throw new Error(
      `Training of ${model} was refused: another run holds the lease ${JSON.stringify(output.lease)}`,
    );
  }
  return output.version;
}

/**
 * A state machine of `pipelines/` with a value for every placeholder, for runs whose Task states a
 * test answers itself: numbers where the ASL parses one, else an ARN naming the placeholder
 * (`arn:aws:lambda:us-east-1:123456789012:function:<Key>`, `arn:aws:states:…:stateMachine:<Key>`).
 */
export function aslDefinition(file: string, values: Record<string, string> = {}): Record<string, unknown> {
  const text = readFileSync(`pipelines/${file}.asl.json`, 'utf8').replace(
    /\$\{([A-Za-z0-9_]+)\}/g,
    (_, key: string) => values[key] ?? placeholderArn(key),
  );
  return JSON.parse(text) as Record<string, unknown>;
}

/** The ARN {@link aslDefinition} gives placeholder `key`. */
export function placeholderArn(key: string): string {
  return key.endsWith('StateMachineArn')
    ? `arn:aws:states:us-east-1:123456789012:stateMachine:${key}`
    : `arn:aws:lambda:us-east-1:123456789012:function:${key}`;
}

/** The registry's leases, as the training-lease function takes them, for tests that hold or inspect one. */
export function leasesOf(t: TestTwin): DynamoLeases {
  return new DynamoLeases(
    makeDocumentClient(t.twin.clientTarget()),
    t.twin.resolver.output('RegistryTableName')!,
  );
}

/**
 * The registry with its clock `hoursAgo` hours back, for facts that take time to become true (a
 * promotion that is a day old).
 */
export function registryBack(t: TestTwin, hoursAgo: number): DynamoModelRegistry {
  return new DynamoModelRegistry(
    makeDocumentClient(t.twin.clientTarget()),
    t.twin.resolver.output('RegistryTableName')!,
    { now: () => new Date(Date.now() - hoursAgo * 3_600_000) },
  );
}

/** Ingests the inputs under the model and trains a candidate from them through the training pipeline. */
export async function trainCandidate(
  t: TestTwin,
  model: string,
  inputs: TrainingInputs = {},
): Promise<number> {
  await ingestAs(t, model, inputs);
  return runTraining(t, model, inputs.seed);
}

/** Runs trained once per twin, by what they were trained from. */
const trainedRuns = new WeakMap<TestTwin, Map<string, Promise<ModelVersion>>>();

/**
 * The registry record of a run trained in a partition of its own from the data, the seed and what
 * training reads of the definition, trained on first use.
 */
function trainedOnce(t: TestTwin, inputs: TrainingInputs): Promise<ModelVersion> {
  const definition = definitionOf('trained', inputs.definition);
  const { spec, training, serving, drift } = definition;
  const csv = inputs.csv ?? demoCsv;
  const id = createHash('sha256')
    .update(JSON.stringify([spec, training, serving, drift, inputs.seed ?? 42]))
    .update(csv)
    .digest('hex');
  const runs = trainedRuns.get(t) ?? new Map<string, Promise<ModelVersion>>();
  trainedRuns.set(t, runs);
  let run = runs.get(id);
  if (!run) {
    const model = freshModel('trained');
    // Approval manual: a run only copied from is never promoted where it was trained.
    const manual = { ...definition, promotion: { approval: 'manual' } };
    run = trainCandidate(t, model, { ...inputs, definition: manual }).then((version) =>
      t.registry.requireVersion(model, version),
    );
    // A failed run is not remembered: the next test to need it trains it again and reports its own failure.
    run.catch(() => runs.delete(id));
    runs.set(id, run);
  }
  return run;
}

/**
 * A candidate of `model` trained from `inputs` (see the module comment): the next version of the
 * model, status Candidate, with the inputs' definition renamed to the model and copies of the
 * artifacts of its own (under `artifacts/<model>/copies/v<version>/`).
 */
export async function givenCandidate(
  t: TestTwin,
  model: string,
  inputs: TrainingInputs = {},
): Promise<number> {
  const source = await trainedOnce(t, inputs);
  const version = await t.registry.allocateVersion(model);
  const entries = Object.entries(source.artifacts).filter((e): e is [string, string] => e[1] !== undefined);
  const copied = await Promise.all(
    entries.map(async ([name, key]) => {
      const copy = `${lakeZones.artifacts}${model}/copies/v${version}/${key}`;
      await t.lake.put(copy, await t.lake.getBytes(key));
      return [name, copy] as const;
    }),
  );
  await t.registry.putVersion({
    ...source,
    model,
    version,
    status: 'Candidate',
    createdAt: new Date().toISOString(),
    definition: definitionOf(model, inputs.definition),
    artifacts: Object.fromEntries(copied) as ModelVersion['artifacts'],
  });
  return version;
}

/** The seeds of the versions {@link givenProduction} promotes, in order. */
const PRODUCTION_SEEDS = [42, 7, 11];

/**
 * `versions` candidates of `model` (the credit definition, seeds 42, 7, 11), each promoted by the
 * promotion pipeline in turn, so the last is in production and the others came before it; returns
 * their version numbers, oldest first.
 */
export async function givenProduction(
  t: TestTwin,
  model: string,
  options: { versions?: number } = {},
): Promise<number[]> {
  const count = options.versions ?? 1;
  if (count > PRODUCTION_SEEDS.length)
    throw new Error(`givenProduction makes at most ${PRODUCTION_SEEDS.length} versions`);
  const promoted: number[] = [];
  for (const seed of PRODUCTION_SEEDS.slice(0, count)) {
    const version = await givenCandidate(t, model, { seed });
    const run = await t.twin.execute('promotion', { model, version });
    if (run.status !== 'SUCCEEDED') {
      throw new Error(
        `Promotion of ${model} v${version} ended ${run.status}: ${JSON.stringify(run.taskError ?? run.error)}`,
      );
    }
    promoted.push(version);
  }
  return promoted;
}
