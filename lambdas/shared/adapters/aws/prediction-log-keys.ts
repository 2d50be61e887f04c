/**
 * Where the prediction log keeps a row: partitions of model, hour and shard (bounded, and readable
 * back by hour). The writer and the reader share these and nothing else, so a function bundles only
 * the side it uses.
 */

/** Writes spread over this many partitions per model and hour. */
export const LOG_SHARDS = 4;

/** `model#yyyy-mm-ddThh#shard`: bounded partitions that a drift job can read back by hour. */
export function logPartition(model: string, at: string, shard: number): string {
  return `${model}#${at.slice(0, 13)}#${shard}`;
}

/** The shard a request's rows go to: all rows of one request land in one partition. */
export function shardOf(requestId: string): number {
  let h = 0;
  for (let i = 0; i < requestId.length; i++) h = (h * 31 + requestId.charCodeAt(i)) >>> 0;
  return h % LOG_SHARDS;
}
