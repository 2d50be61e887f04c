/** Synthesizes the CDK app in-process, exactly as `cdk synth` would, for the twin to boot from. */
import { App } from 'aws-cdk-lib';
import { buildApp, readCdkJsonContext } from '../lib/app.ts';
import { buildConfig, loadModels, type PlatformConfig } from '../lib/config.ts';
import { MODELS_DIR, PROJECT_ROOT } from '../lib/paths.ts';

export const projectRoot = PROJECT_ROOT;

/** The platform config from cdk.json's `mlops` context, with the stage optionally overridden. */
export function projectConfig(stage?: string): PlatformConfig {
  const raw = {
    ...((readCdkJsonContext().mlops as Record<string, unknown>) ?? {}),
    ...(stage ? { stage } : {}),
  };
  return buildConfig(raw, loadModels(MODELS_DIR));
}

export function synthesize(outdir: string, config: PlatformConfig = projectConfig()): string {
  const app = new App({
    outdir,
    context: { ...readCdkJsonContext(), 'aws:cdk:enable-asset-metadata': true },
  });
  // CDK announces each function it bundles on stderr; the twin's own progress line says it once.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' && chunk.startsWith('Bundling asset ')
      ? true
      : write(chunk, ...(rest as []))) as typeof process.stderr.write;
  try {
    buildApp(app, config);
    app.synth();
  } finally {
    process.stderr.write = write;
  }
  return outdir;
}
