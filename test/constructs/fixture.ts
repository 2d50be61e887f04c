/** Synthesizes the platform in-process, the way `cdk synth` does, for template assertions. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { type StackPart, stackName } from '../../contracts/outputs.ts';
import { addComplianceChecks, buildApp, type PlatformStacks } from '../../lib/app.ts';
import { buildConfig, loadModels, type PlatformConfig, readCdkJsonContext } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';

type CloudAssembly = ReturnType<App['synth']>;

export interface SynthOptions {
  /** Config keys on top of `{ stage: 'test' }`. */
  readonly config?: Record<string, unknown>;
  /**
   * Stacks whose Lambda code is bundled with esbuild; the others get placeholder code.
   * @default [] (no bundling)
   */
  readonly bundle?: readonly StackPart[];
}

export interface SynthResult {
  readonly app: App;
  readonly config: PlatformConfig;
  readonly stacks: PlatformStacks;
  readonly assembly: CloudAssembly;
}

/** Builds the test config, the app (with cdk.json's feature flags and cdk-nag) and synthesizes it. */
export function synthPlatform(options: SynthOptions = {}): SynthResult {
  const config = buildConfig({ stage: 'test', ...options.config }, loadModels(MODELS_DIR));
  const context = readCdkJsonContext();
  delete context.mlops;
  context['aws:cdk:bundling-stacks'] = (options.bundle ?? []).map((part) => stackName(config.stage, part));
  const app = new App({ context, outdir: mkdtempSync(join(tmpdir(), 'mlops-cdk-test-')) });
  const stacks = buildApp(app, config);
  addComplianceChecks(app);
  const assembly = app.synth();
  return { app, config, stacks, assembly };
}

/** The violations recorded in the assembly's policy validation report (empty when there is none). */
export function validationViolations(assembly: CloudAssembly): unknown[] {
  const file = join(assembly.directory, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    pluginReports?: { violations?: unknown[]; conclusion?: string }[];
  };
  return (report.pluginReports ?? []).flatMap((r) => r.violations ?? []);
}

/** The one function of a template whose Powertools service name (its `lambdas/` directory) is `name`. */
export function functionNamed(template: Template, name: string): { Properties: Record<string, unknown> } {
  const found = Object.values(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: name } } },
    }),
  ) as { Properties: Record<string, unknown> }[];
  if (found.length !== 1) throw new Error(`expected one function named ${name}, found ${found.length}`);
  return found[0]!;
}
