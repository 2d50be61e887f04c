/** The serving settings a function's construct puts in its environment. */
import { requireEnv } from './env.ts';

export type ServingMode = 'lambda' | 'endpoint';

export function servingMode(): ServingMode {
  const mode = process.env.SERVING_MODE ?? 'lambda';
  if (mode !== 'lambda' && mode !== 'endpoint') {
    throw new Error(`Environment variable SERVING_MODE must be lambda or endpoint, got "${mode}".`);
  }
  return mode;
}

/** The endpoint name prefix of this stage (`mlops-<stage>`). */
export function endpointPrefix(): string {
  return requireEnv('ENDPOINT_PREFIX');
}
