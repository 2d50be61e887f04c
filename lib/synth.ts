/** Synthesizes the CDK app in-process, exactly as `cdk synth` would: the twin and the tests boot from it. */
import { App } from 'aws-cdk-lib';
import { buildApp } from './app.ts';
import { type PlatformConfig, projectConfig, readCdkJsonContext } from './config.ts';

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
