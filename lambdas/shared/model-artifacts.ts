/** Reading model artifacts: SageMaker's model.tar.gz and the files a version points at. */

import { Parser, type ReadEntry } from 'tar';
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { TransformArtifact } from '../../core/features/transform.ts';
import type { ObjectStore } from '../../core/ports.ts';
import { loadXgbModel, type XgbModel } from '../../core/scorer/xgboost.ts';
import type { ServingModel } from '../../core/serving/model.ts';

/** Extracts the regular files of a (gzipped) tarball into memory, keyed by their path without `./`. */
export async function untar(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          if (entry.type === 'File') files.set(entry.path.replace(/^\.\//, ''), Buffer.concat(chunks));
        });
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', reject);
    parser.end(Buffer.from(bytes));
  });
  return files;
}

/** Loads and checks a version's model and transform: the scorer must accept the model and the widths must agree. */
export async function loadServingModel(
  lake: ObjectStore,
  version: number,
  keys: { modelJson: string; transform: string },
): Promise<ServingModel> {
  const [modelText, transformText] = await Promise.all([
    lake.getText(keys.modelJson),
    lake.getText(keys.transform),
  ]);
  let model: XgbModel;
  try {
    model = loadXgbModel(modelText);
  } catch (err) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `Model version ${version}: ${(err as Error).message}`,
    );
  }
  const transform = JSON.parse(transformText) as TransformArtifact;
  if (model.numFeatures !== transform.columns.length) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `Model version ${version} expects ${model.numFeatures} features but its transform produces ${transform.columns.length}.`,
    );
  }
  return { version, model, transform };
}
