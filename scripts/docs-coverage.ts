/**
 * `npm run docs:coverage`: synthesizes the app as `npm start` does (the project's config) and
 * rewrites the README's table of what the twin emulates, between its `twin-coverage` markers, from
 * the templates' resources and the classification in local/coverage.ts.
 * test/constructs/readme-twin-coverage.test.ts fails while the README's table differs from it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectConfig } from '../lib/config.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { synthesize } from '../lib/synth.ts';
import { assemblyCoverageTable, withCoverageTable } from '../local/coverage.ts';

const file = join(PROJECT_ROOT, 'README.md');
const dir = mkdtempSync(join(tmpdir(), 'mlops-docs-coverage-'));
try {
  synthesize(dir, projectConfig());
  const readme = readFileSync(file, 'utf8');
  const next = withCoverageTable(readme, assemblyCoverageTable(dir));
  if (next === readme) console.log("README.md: the twin's coverage table is up to date");
  else {
    writeFileSync(file, next);
    console.log("README.md: the twin's coverage table rewritten from the synthesized templates");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
