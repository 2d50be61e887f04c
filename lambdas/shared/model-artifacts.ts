/**
 * SageMaker's `model.tar.gz`, read into memory. Apart from the version loader
 * (`core/serving/load.ts`) because it pulls in the `tar` package (about 85 KB bundled), which only
 * the functions that open a training job's output need.
 */
import { Parser, type ReadEntry } from 'tar';

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
