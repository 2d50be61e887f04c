import { defineConfig } from 'vitest/config';

/**
 * Five projects, so the fast loop stays fast: `unit` (cores with in-memory ports: no synthesis, no
 * servers), `constructs` (template assertions; each file synthesizes what it checks), `integration`
 * (handlers and adapters against dynalite, s3rver and Debian's XGBoost), `twin` (the twin itself,
 * pipelines and end-to-end runs, booted from one assembly synthesized for the run by the global setup),
 * and `browser` (the twin's dashboard pages in headless Chromium, from the same kind of assembly).
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: more workers only contend; synth and training are CPU-bound.
    maxWorkers: 2,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'constructs', include: ['test/constructs/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ['test/integration/twin-*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'twin',
          include: [
            'test/pipelines/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/integration/twin-*.test.ts',
          ],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
