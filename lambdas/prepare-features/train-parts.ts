/** The training split's prefix, checked before a snapshot is written under it. */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ObjectStore } from '../../core/ports.ts';

/**
 * Fails (InvalidInput) when the training prefix holds objects other than `expected`: SageMaker's
 * channel reads every object under it, so parts left by an earlier run of the same snapshot with
 * other batches (or by the single function) would train twice on their rows.
 */
export async function checkTrainParts(lake: ObjectStore, prefix: string, expected: readonly string[]) {
  const want = new Set(expected);
  const stale = (await lake.list(prefix)).filter((k) => !want.has(k));
  if (stale.length > 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `s3://${lake.bucket}/${prefix} holds ${stale.length} object(s) this run did not write (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}), left by an earlier run of the same snapshot with other batches: the training channel would read them too. Delete the prefix and run the training again.`,
    );
  }
}
