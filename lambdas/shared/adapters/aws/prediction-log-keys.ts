/**
 * Where the prediction log keeps a row: partitions of model, hour and shard (bounded, and readable
 * back by hour). The writer and the reader share these and nothing else, so a function bundles only
 * the side it uses.
 */

/**
 * Partitions per model and hour when the config does not say (`predictionLogShards`). DynamoDB takes
 * at most 1,000 writes a second per partition key, so a model logs at most about 1,000 predictions a
 * second per shard.
 */
export const DEFAULT_LOG_SHARDS = 4;

/** `model#yyyy-mm-ddThh#shard`: bounded partitions that a drift job can read back by hour. */
export function logPartition(model: string, at: string, shard: number): string {
  return `${model}#${at.slice(0, 13)}#${shard}`;
}

/** The shard a request's rows go to, of `shards`: all rows of one request land in one partition. */
export function shardOf(requestId: string, shards: number = DEFAULT_LOG_SHARDS): number {
  let h = 0;
  for (let i = 0; i < requestId.length; i++) h = (h * 31 + requestId.charCodeAt(i)) >>> 0;
  return h % shards;
}
