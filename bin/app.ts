/**
 * CDK entry point. Reads the platform config from the `mlops` context (cdk.json or `-c mlops='{...}'`),
 * with `-c stage=<name>` choosing the stage (default: `mlops.stage`), whose block under `mlops.stages`
 * is merged over the defaults and the model files (lib/config.ts), builds the four stacks and runs the
 * cdk-nag AWS Solutions checks on every synth.
 */
import { App } from 'aws-cdk-lib';
import { addComplianceChecks, buildApp } from '../lib/app.ts';
import { buildConfig, loadModels } from '../lib/config.ts';
import { MODELS_DIR } from '../lib/paths.ts';

function readContext(app: App): unknown {
  let raw: unknown = app.node.tryGetContext('mlops') ?? {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      throw new Error(`Invalid platform config in context "mlops": not JSON (${(err as Error).message})`);
    }
  }
  const stage: unknown = app.node.tryGetContext('stage');
  if (stage === undefined) return raw;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error('Invalid platform config in context "mlops": it must be an object');
  }
  return { ...raw, stage: String(stage) };
}

const app = new App();
try {
  const config = buildConfig(readContext(app), loadModels(MODELS_DIR));
  buildApp(app, config);
  addComplianceChecks(app);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
