/** The model cache the predict function's core takes as a port (shared with the shadow function). */
export { createModelCache, type LoadedVersion, type ModelCache } from '../shared/model-cache.ts';
