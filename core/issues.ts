/** Validation messages a person can act on: one `path: message` line per problem. */
import type { z } from 'zod';

/** Formats zod issues as `path: message` lines so a person can find the bad key. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `  - ${path}: ${issue.message}`;
    })
    .join('\n');
}
