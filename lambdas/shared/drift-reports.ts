/**
 * Reading the drift reports the drift job writes to the lake (`lakeKeys.driftReports`), for the
 * CLI's status and the twin's model page alike.
 */
import { lakeKeys } from '../../contracts/lake.ts';
import type { DriftReport } from '../../core/drift/types.ts';
import type { ObjectStore } from '../../core/ports.ts';

/** A drift report in the lake that is not JSON. */
export class UnreadableDriftReport extends Error {
  override readonly name = 'UnreadableDriftReport';
}

/** The newest drift report of a model in the lake (keys sort by window end), or undefined. */
export async function latestDriftReport(lake: ObjectStore, model: string): Promise<DriftReport | undefined> {
  const keys = (await lake.list(lakeKeys.driftReports(model))).filter((k) => k.endsWith('.json'));
  const last = keys.at(-1);
  if (!last) return undefined;
  try {
    return JSON.parse(await lake.getText(last)) as DriftReport;
  } catch (err) {
    throw new UnreadableDriftReport(
      `The drift report s3://${lake.bucket}/${last} is not JSON: ${(err as Error).message}`,
    );
  }
}
