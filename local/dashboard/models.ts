/**
 * What a model's page shows, read from the registry and the lake through the same ports the CLI
 * reads them with (`mlops models`, `show`, `status`): its versions with their lineage, the production
 * alias, the evidence of each guardrail decision, the audit trail, and the latest drift report (the
 * newest under the model's drift-report prefix, as `mlops status` picks it).
 */
import { lakeKeys } from '../../contracts/lake.ts';
import type { DriftReport } from '../../core/drift/types.ts';
import type { ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import type { AuditEvent, EvidenceRecord, ModelVersion, ProductionAlias } from '../../core/registry/model.ts';

export interface ModelPageData {
  model: string;
  /** The lake bucket, for the artifacts' s3:// addresses. */
  bucket: string;
  alias: ProductionAlias | null;
  /** Oldest first. */
  versions: ModelVersion[];
  /** Each version's guardrail decisions, by version number. */
  evidence: Record<string, EvidenceRecord[]>;
  /** Oldest first. */
  audit: AuditEvent[];
  drift: DriftReport | null;
  /** Set when the latest drift report could not be read (the rest of the page still is). */
  driftError?: string;
}

/** The newest drift report of a model in the lake (keys sort by window end), or undefined. */
export async function latestDriftReport(lake: ObjectStore, model: string): Promise<DriftReport | undefined> {
  const keys = (await lake.list(lakeKeys.driftReports(model))).filter((k) => k.endsWith('.json'));
  const last = keys.at(-1);
  if (!last) return undefined;
  try {
    return JSON.parse(await lake.getText(last)) as DriftReport;
  } catch (err) {
    throw new Error(`The drift report s3://${lake.bucket}/${last} is not JSON: ${(err as Error).message}`);
  }
}

/** Reads everything a model's page shows. */
export async function readModelPage(
  registry: ModelRegistryPort,
  lake: ObjectStore,
  model: string,
): Promise<ModelPageData> {
  const [versions, alias, audit, drift] = await Promise.all([
    registry.listVersions(model),
    registry.getAlias(model),
    registry.listAudit(model),
    latestDriftReport(lake, model).then(
      (report) => ({ report }),
      (err: unknown) => ({ report: undefined, error: (err as Error).message }),
    ),
  ]);
  versions.sort((a, b) => a.version - b.version);
  const evidence: Record<string, EvidenceRecord[]> = {};
  await Promise.all(
    versions.map(async (v) => {
      evidence[v.version] = await registry.listEvidence(model, v.version);
    }),
  );
  return {
    model,
    bucket: lake.bucket,
    alias: alias ?? null,
    versions,
    evidence,
    audit,
    drift: drift.report ?? null,
    ...('error' in drift && drift.error ? { driftError: drift.error } : {}),
  };
}
