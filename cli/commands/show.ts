/** `mlops show <version>`: a version's lineage, its evidence and what happened to it in rollouts. */
import type { Command } from 'commander';
import type { ModelVersion } from '../../core/registry/model.ts';
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

/** Prints the version's lineage, each guardrail decision's evidence and its rollout, in order. */
export async function show(target: Target, model: string, version: number): Promise<ModelVersion> {
  const v = await target.registry.getVersion(model, version);
  if (!v) throw new CliError(`Model "${model}" has no version ${version}.`);
  console.log(lineage(v, target.lake.bucket));
  for (const e of await target.registry.listEvidence(model, version)) {
    const failed = e.checks.filter((c) => !c.passed);
    console.log(
      `evidence       ${e.approved ? 'approved' : 'refused'} at ${e.decidedAt} against ${
        e.incumbent === null ? 'no incumbent' : `incumbent v${e.incumbent}`
      }: ${e.checks.length - failed.length} of ${e.checks.length} checks passed${e.forced ? `, forced: ${e.forced.reason}` : ''}`,
    );
    for (const c of failed) console.log(`  ✗ ${c.detail}`);
    console.log(`  evidence file s3://${target.lake.bucket}/${e.evidenceKey}`);
  }
  const rollout = (await target.registry.listAudit(model)).filter(
    (a) => a.version === version && ROLLOUT_ACTIONS[a.action] !== undefined,
  );
  for (const a of rollout) console.log(`rollout        ${a.at}  ${ROLLOUT_ACTIONS[a.action]!(a.detail)}`);
  return v;
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
    .action(async (version: string, opts: TargetOptions & { model: string }) => {
      const model = checkModelName(opts.model);
      const wanted = parseVersion(version);
      const target = await context.target(opts);
      await show(target, model, await resolveVersion(target.registry, model, wanted));
    });
}
