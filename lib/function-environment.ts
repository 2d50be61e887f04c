/**
 * The check of a function's environment against its schema in `contracts/env.ts`, as the template
 * will hold it: the construct runs it when the app is synthesized, so a binding the handler would
 * miss (or one it does not know) fails synth instead of the function's cold start.
 */
import * as z from 'zod/mini';
import { type FunctionName, functionEnv } from '../contracts/env.ts';

function shapeOf(fn: FunctionName): Record<string, z.ZodMiniType> {
  return functionEnv[fn].def.shape as Record<string, z.ZodMiniType>;
}

/** The variables a function's schema requires (those it declares without `optional`). */
export function requiredVariables(fn: FunctionName): string[] {
  return Object.entries(shapeOf(fn))
    .filter(([, schema]) => !z.safeParse(schema, undefined).success)
    .map(([key]) => key);
}

/**
 * What is wrong with a function's environment, one sentence per variable: a variable its schema does
 * not declare, a required one that is missing, or a literal value the schema refuses. Values that are
 * not strings (CloudFormation references, resolved at deploy time) are only checked for presence.
 */
export function environmentProblems(
  fn: FunctionName,
  variables: Readonly<Record<string, unknown>>,
): string[] {
  const shape = shapeOf(fn);
  const declared = Object.keys(shape);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(variables)) {
    const schema = shape[key];
    if (!schema) {
      problems.push(`${key} is not in its schema (declared: ${declared.join(', ')})`);
      continue;
    }
    if (typeof value !== 'string') continue;
    const parsed = z.safeParse(schema, value);
    if (!parsed.success) {
      problems.push(`${key}=${JSON.stringify(value)} is invalid (${parsed.error.issues[0]?.message})`);
    }
  }
  for (const key of requiredVariables(fn)) {
    if (!(key in variables)) problems.push(`${key} is required but not set`);
  }
  return problems;
}
