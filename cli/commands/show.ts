/** `mlops show <version>`: a version's lineage, its evidence and what happened to it in rollouts. */
import type { Command } from 'commander';
import type { AuditEvent, EvidenceRecord, ModelVersion } from '../../core/registry/model.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { lineage } from '../print.ts';
import type { Target } from '../target.ts';
import { parseVersion, resolveVersion } from '../versions.ts';

/** How each audit action of a rollout reads, by action name; other actions are not shown. */
const ROLLOUT_ACTIONS: Record<string, (d: Record<string, unknown>) => string> = {
  ShadowStarted: (d) => `shadow started beside v${d.beside}`,
  ShadowEnded: (d) => `shadow ended (${d.verdict}): ${d.summary}`,
  CanaryStarted: (d) => `canary started at ${Number(d.weight) * 100}% beside v${d.beside}`,
  CanaryStepped: (d) => `canary stepped to ${Number(d.weight) * 100}%`,
  CanaryEnded: (d) => `canary ended: ${d.reason}`,
  StatusChanged: (d) => `${d.from} → ${d.to}${d.reason ? `: ${d.reason}` : ''}`,
};

/** What `mlops show --json` prints. */
export interface ShowJson {
  /** The version as the registry holds it: lineage, metrics, artifacts (lake keys), decision. */
  version: ModelVersion;
  /** The lake bucket its artifacts and evidence files are in. */
  bucket: string;
  /** Each guardrail decision on it, with every check. */
  evidence: EvidenceRecord[];
  /** What happened to it in rollouts (shadow, canary, status changes), oldest first. */
  rollout: (AuditEvent & { summary: string })[];
}

/** Reads the version, its evidence and its rollout; a version the registry lacks is a CliError. */
export async function readVersion(target: Target, model: string, version: number): Promise<ShowJson> {
  const v = await target.registry.getVersion(model, version);
  if (!v) throw new CliError(`Model "${model}" has no version ${version}.`);
  const [evidence, audit] = await Promise.all([
    target.registry.listEvidence(model, version),
    target.registry.listAudit(model),
  ]);
  const rollout = audit
    .filter((a) => a.version === version && ROLLOUT_ACTIONS[a.action] !== undefined)
    .map((a) => ({ ...a, summary: ROLLOUT_ACTIONS[a.action]!(a.detail) }));
  return { version: v, bucket: target.lake.bucket, evidence, rollout };
}

/** Prints the version's lineage, each guardrail decision's evidence and its rollout, in order (or as JSON). */
export async function show(
  target: Target,
  model: string,
  version: number,
  opts: { json?: boolean } = {},
): Promise<ModelVersion> {
  const read = await readVersion(target, model, version);
  if (opts.json) {
    console.log(JSON.stringify(read, null, 2));
    return read.version;
  }
  console.log(lineage(read.version, read.bucket));
  for (const e of read.evidence) {
    const failed = e.checks.filter((c) => !c.passed);
    console.log(
      `evidence       ${e.approved ? 'approved' : 'refused'} at ${e.decidedAt} against ${
        e.incumbent === null ? 'no incumbent' : `incumbent v${e.incumbent}`
      }: ${e.checks.length - failed.length} of ${e.checks.length} checks passed${e.forced ? `, forced: ${e.forced.reason}` : ''}`,
    );
    for (const c of failed) console.log(`  ✗ ${c.detail}`);
    console.log(`  evidence file s3://${read.bucket}/${e.evidenceKey}`);
  }
  for (const a of read.rollout) console.log(`rollout        ${a.at}  ${a.summary}`);
  return read.version;
}

/** Adds `mlops show`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('show')
        .description("Print a version's lineage: data, code, image, parameters, metrics, decision."),
      context,
    ),
    context,
  )
    .argument('<version>', 'version number, v<N>, or "latest"')
    .option('--json', 'print {"version", "bucket", "evidence": [...], "rollout": [...]} as JSON')
    .action(async (version: string, opts: TargetOptions & { model: string; json?: boolean }) => {
      const model = checkModelName(opts.model);
      const wanted = parseVersion(version);
      const target = await context.target(opts);
      await show(
        target,
        model,
        await resolveVersion(target.registry, model, wanted),
        opts.json ? { json: true } : {},
      );
    });
}
