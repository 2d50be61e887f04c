/**
 * Loaded versions, kept for the life of a function instance. Versions are immutable, so an entry
 * never goes stale; a failed load is forgotten, so the next request tries again. The handler
 * creates one cache per instance and passes it to the core as a port (tests get a fresh one).
 */
import type { ModelVersion } from '../../core/registry/model.ts';
import type { ServingModel } from '../../core/serving/model.ts';

/** A version ready to serve, and whether its feature-schema hash matches what this code computes. */
export interface LoadedVersion {
  version: ModelVersion;
  serving: ServingModel;
  hashOk: boolean;
}

/** Where the core finds loaded versions. */
export interface ModelCache {
  /**
   * The loaded version, from the cache or from `load` (called once for concurrent requests of the
   * same version: they share its promise).
   */
  get(model: string, version: number, load: () => Promise<LoadedVersion>): Promise<LoadedVersion>;
  /**
   * The version if its load has finished, without waiting (a warm request has nothing to wait for);
   * undefined if it is not cached or still loading. A hit counts as a use, as with `get`.
   */
  loaded(model: string, version: number): LoadedVersion | undefined;
}

/** A cached version: its load, and what it loaded once it has. */
interface Entry {
  readonly promise: Promise<LoadedVersion>;
  value: LoadedVersion | undefined;
}

/**
 * An in-memory {@link ModelCache} holding at most `maxEntries` versions, the least recently used
 * leaving first (an instance that lives through many promotions does not keep every version). A
 * model serves two versions at a time (production and a canary or shadow), so the default leaves
 * room for several models and a rollback's incumbent.
 */
export function createModelCache(maxEntries = 16): ModelCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new Error(`createModelCache maxEntries: must be a positive whole number, got ${maxEntries}`);
  }
  const entries = new Map<string, Entry>();
  // The entry used last: already the most recent, so a hit on it moves nothing and needs no key.
  let last: Entry | undefined;
  let lastModel = '';
  let lastVersion = Number.NaN;
  const use = (model: string, version: number, entry: Entry) => {
    last = entry;
    lastModel = model;
    lastVersion = version;
  };
  const find = (model: string, version: number): Entry | undefined => {
    if (last !== undefined && version === lastVersion && model === lastModel) return last;
    const key = `${model}#${version}`;
    const entry = entries.get(key);
    if (entry) {
      // Map iteration follows insertion order: re-inserting marks the entry most recently used.
      entries.delete(key);
      entries.set(key, entry);
      use(model, version, entry);
    }
    return entry;
  };
  return {
    get(model, version, load) {
      const found = find(model, version);
      if (found) return found.promise;
      const key = `${model}#${version}`;
      const entry: Entry = { promise: load(), value: undefined };
      entries.set(key, entry);
      use(model, version, entry);
      entry.promise.then(
        (value) => {
          entry.value = value;
        },
        () => {
          if (entries.get(key) === entry) entries.delete(key);
          if (last === entry) last = undefined;
        },
      );
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return entry.promise;
    },
    loaded: (model, version) => find(model, version)?.value,
  };
}
