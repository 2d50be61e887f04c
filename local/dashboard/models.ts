import type { DriftReport } from '../../core/drift/types.ts';
import type { ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import type { AuditEvent, EvidenceRecord, ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import { latestDriftReport } from '../../lambdas/shared/drift-reports.ts';

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
