/**
 * Builds a function's handler the way `lib/constructs/mlops-function.ts` has NodejsFunction build it
 * (ESM, node22, minified, `module` before `main`, the `require` banner, nothing external), with a
 * metafile, so that a benchmark or a test can see what a bundle holds.
 */
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { PROJECT_ROOT } from '../lib/paths.ts';

/** The esbuild settings of the platform's functions. */
export const functionBuildOptions: esbuild.BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  minify: true,
  external: [],
  logLevel: 'warning',
  absWorkingDir: PROJECT_ROOT,
};

/** A built bundle: its size and the modules that put bytes in it (paths as esbuild names them). */
export interface BuiltBundle {
  bytes: number;
  /** Bytes in the output by input module, only modules that kept any. */
  inputs: Map<string, number>;
}

/** Builds `lambdas/<name>/handler.ts` with the given build constants (each a JSON literal). */
export async function buildFunction(
  name: string,
  outfile: string,
  define: Record<string, string> = {},
): Promise<BuiltBundle> {
  const result = await esbuild.build({
    ...functionBuildOptions,
    entryPoints: [join(PROJECT_ROOT, 'lambdas', name, 'handler.ts')],
    outfile,
    metafile: true,
    define,
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  // A module that tree shaking emptied is still listed among the inputs, with no bytes.
  const inputs = new Map(
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path, input]) => [path, input.bytesInOutput]),
  );
  return { bytes: output.bytes, inputs };
}

/** Bytes a bundle holds from one package (`@aws-sdk/client-s3`, `tar`, ...). */
export function packageBytes(bundle: BuiltBundle, pkg: string): number {
  let total = 0;
  for (const [path, bytes] of bundle.inputs) if (path.includes(`node_modules/${pkg}/`)) total += bytes;
  return total;
}
