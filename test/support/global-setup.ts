/**
 * Synthesizes the CDK app once for the whole run (bundling every function with esbuild, as
 * `cdk deploy` would) so that pipeline and end-to-end tests boot the twin from the same assembly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject) {
  const [{ synthesize }, { projectConfig }] = await Promise.all([
    import('../../lib/synth.ts'),
    import('../../lib/config.ts'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'mlops-test-assembly-'));
  // The tests' client may send as fast as the tests do: the default usage plan (50 requests/s) would
  // answer 429 to the bulk tests long before they finish. twin-api-keys.test.ts covers the throttle.
  synthesize(dir, {
    ...projectConfig('test'),
    clients: [{ name: 'default', rateLimit: 10_000, burstLimit: 5_000 }],
  });
  project.provide('assemblyDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    assemblyDir: string;
  }
}
