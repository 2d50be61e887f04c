/** Reading SageMaker's `model.tar.gz` in memory. */
import { Parser, type ReadEntry } from 'tar';

/**
 * The regular files of a tarball (gzipped or not, as the parser detects), keyed by their path
 * without a leading `./`. Rejects when the bytes are not a tar archive.
 */
export async function untar(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
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
