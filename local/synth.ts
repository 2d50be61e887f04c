/** Synthesizes the CDK app in-process, exactly as `cdk synth` would, for the twin to boot from. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.ts';
import { buildConfig, loadModels, type PlatformConfig } from '../lib/config.ts';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The platform config from cdk.json's `mlops` context, with the stage optionally overridden. */
export function projectConfig(stage?: string): PlatformConfig {
  const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const raw = { ...((cdkJson.context?.mlops as Record<string, unknown>) ?? {}), ...(stage ? { stage } : {}) };
  return buildConfig(raw, loadModels(join(projectRoot, 'models')));
}

export function synthesize(outdir: string, config: PlatformConfig = projectConfig()): string {
  const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({
    outdir,
    context: { ...(cdkJson.context ?? {}), 'aws:cdk:enable-asset-metadata': true },
  });
  buildApp(app, config);
  app.synth();
  return outdir;
}
