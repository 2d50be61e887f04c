/**
 * The README's table of what the twin emulates is generated: it must be exactly what the templates
 * `npm start` synthesizes (the project's config) give through the classification in
 * local/coverage.ts, so a resource type added to the app, or a type reclassified, shows in the
 * README or fails here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectConfig } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { synthesize } from '../../lib/synth.ts';
import {
  assemblyCoverageTable,
  COVERAGE_MARKERS,
  type CoverageEntry,
  classifyTemplates,
  coverageTable,
  EMULATED,
  readmeCoverageTable,
  withCoverageTable,
} from '../../local/coverage.ts';
import { Resolver, readAssembly } from '../../local/template.ts';

describe("the README's table of what the twin emulates", () => {
  let dir: string;
  let table: string;
  let entries: CoverageEntry[];
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlops-readme-coverage-'));
    synthesize(dir, projectConfig());
    table = assemblyCoverageTable(dir);
    entries = classifyTemplates(new Resolver(readAssembly(dir)));
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN the templates of the project config WHEN their coverage table is rendered THEN the README holds exactly it', () => {
    expect(
      readmeCoverageTable(readme),
      "README.md's twin coverage table differs from the synthesized templates: run `npm run docs:coverage`",
    ).toBe(table);
  });

  it('GIVEN the templates WHEN rendered THEN there is a row per resource type with its count, and the counts add up to every resource', () => {
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    const types = new Set(entries.map((e) => e.type));
    expect(rows).toHaveLength(types.size);
    let total = 0;
    for (const type of types) {
      const row = rows.find((r) => r.startsWith(`| \`${type}\` |`));
      expect(row, type).toBeDefined();
      const count = Number(row!.split(' | ')[1]);
      expect(count, type).toBe(entries.filter((e) => e.type === type).length);
      total += count;
      // An emulated type says what runs it; any other says why nothing does.
      if (type in EMULATED) expect(row, type).toContain(EMULATED[type]!.counterpart);
      else expect(row, type).toMatch(/\| not emulated: .+ \|$/);
    }
    expect(total).toBe(entries.length);
    expect(table.split('\n')[0]).toMatch(
      new RegExp(`^${entries.length} resources of ${types.size} types in the synthesized templates: `),
    );
  });

  it('GIVEN a README whose block is stale WHEN the table is written into it THEN only the block changes, and writing again changes nothing', () => {
    const stale = withCoverageTable(readme, '| `AWS::Gone::Type` | 1 | nothing |');
    expect(readmeCoverageTable(stale)).not.toBe(table);
    const fixed = withCoverageTable(stale, table);
    expect(fixed).toBe(withCoverageTable(readme, table));
    expect(withCoverageTable(fixed, table)).toBe(fixed);
    const before = readme.slice(0, readme.indexOf(COVERAGE_MARKERS.start));
    const after = readme.slice(readme.indexOf(COVERAGE_MARKERS.end));
    expect(fixed.startsWith(before) && fixed.endsWith(after)).toBe(true);
  });

  it('fails to find the block in a README without its markers, saying which markers to add', () => {
    expect(() => readmeCoverageTable('# a README\n')).toThrow(
      /no <!-- twin-coverage:start --> … <!-- twin-coverage:end --> block/,
    );
  });

  it('GIVEN subscriptions left out for reasons of their own and an unclassified type WHEN rendered THEN each reason shows once, pipes escaped', () => {
    const sub = (logicalId: string, endpoint: string): CoverageEntry => ({
      stack: 's',
      logicalId,
      type: 'AWS::SNS::Subscription',
      status: 'not-emulated',
      reason: `no message leaves the machine: email to ${endpoint} is not sent`,
    });
    const rendered = coverageTable([
      sub('A', 'a@example.com'),
      sub('B', 'b@example.com'),
      sub('C', 'a@example.com'),
      { stack: 's', logicalId: 'X', type: 'AWS::Odd::Thing', status: 'unclassified', reason: 'a | b' },
    ]);
    expect(rendered.split('\n')[0]).toBe(
      '4 resources of 2 types in the synthesized templates: 0 emulated, 3 not emulated, 1 of types nobody has classified.',
    );
    expect(rendered).toContain('| `AWS::Odd::Thing` | 1 | unclassified: a \\| b |');
    expect(rendered).toContain(
      '| `AWS::SNS::Subscription` | 3 | not emulated: no message leaves the machine: email to a@example.com is not sent; no message leaves the machine: email to b@example.com is not sent |',
    );
  });
});
