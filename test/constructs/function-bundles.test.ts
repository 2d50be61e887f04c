import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionNamed, type SynthResult, synthPlatform } from './fixture.ts';

/** The files of a function's bundled asset directory. */
function assetFiles(synth: SynthResult, template: Template, name: string): { dir: string; files: string[] } {
  const fn = functionNamed(template, name);
  const key = String((fn.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
  const dir = join(synth.assembly.directory, `asset.${key}`);
  return { dir, files: readdirSync(dir).sort() };
}

function bundleText(synth: SynthResult, template: Template, name: string): string {
  const { dir, files } = assetFiles(synth, template, name);
  return readFileSync(join(dir, files.find((f) => f.endsWith('.mjs'))!), 'utf8');
}

const variables = (template: Template, name: string) =>
  (functionNamed(template, name).Properties.Environment as { Variables: Record<string, unknown> }).Variables;

describe('function bundles', () => {
  let plain: SynthResult;
  let withMaps: SynthResult;
  beforeAll(() => {
    plain = synthPlatform({ bundle: ['Serving', 'Monitoring'] });
    withMaps = synthPlatform({ bundle: ['Serving'], config: { sourceMaps: true } });
  });

  it('GIVEN the default config WHEN bundled THEN no source map is uploaded and Node does not look for one', () => {
    const serving = Template.fromStack(plain.stacks.serving);
    expect(assetFiles(plain, serving, 'predict').files).toEqual(['index.mjs']);
    expect(bundleText(plain, serving, 'predict')).not.toContain('sourceMappingURL');
    expect(variables(serving, 'predict')).not.toHaveProperty('NODE_OPTIONS');
    const monitoring = Template.fromStack(plain.stacks.monitoring);
    expect(assetFiles(plain, monitoring, 'drift-job').files).toEqual(['index.mjs']);
    expect(variables(monitoring, 'drift-job')).not.toHaveProperty('NODE_OPTIONS');
  });

  it('GIVEN sourceMaps true WHEN bundled THEN the map ships beside the bundle and Node is told to use it', () => {
    const serving = Template.fromStack(withMaps.stacks.serving);
    expect(assetFiles(withMaps, serving, 'predict').files).toEqual(['index.mjs', 'index.mjs.map']);
    expect(variables(serving, 'predict').NODE_OPTIONS).toBe('--enable-source-maps');
    for (const stack of Object.values(withMaps.stacks)) {
      for (const fn of Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))) {
        expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      }
    }
  });

  it('GIVEN the model definitions WHEN bundled THEN the drift job and predict (its request limits before any model loads) have them compiled in, parsed by neither', () => {
    const b64 = Buffer.from(JSON.stringify(plain.config.models)).toString('base64');
    expect(bundleText(plain, Template.fromStack(plain.stacks.monitoring), 'drift-job')).toContain(b64);
    const predict = bundleText(plain, Template.fromStack(plain.stacks.serving), 'predict');
    expect(predict).toContain(b64);
    // The definitions' parser (model-files.ts, with zod) is left out: the constant is taken as it is.
    expect(predict).not.toContain('MLOPS_MODELS_DIR');
  });

  it('fails when sourceMaps is not a boolean, naming the key', () => {
    expect(() => synthPlatform({ config: { sourceMaps: 'yes' } })).toThrow(/- sourceMaps: /);
  });
});
