/**
 * Names the platform gives resources at run time, outside the templates. Each starts with a prefix
 * that belongs to one stage, so an IAM grant on `<prefix>*` covers every model of that stage (a
 * model that exists only in the lake included) and nothing of another stage.
 */

/**
 * The prefix of every training job name of a stage: `mlops-<stage>--`. Stage names never hold
 * `--` nor end in `-` (the config refuses them), so no stage's prefix starts with another's.
 */
export function trainingJobPrefix(stage: string): string {
  return `mlops-${stage}--`;
}

/**
 * The name of a client's API key in a stage: `mlops-<stage>--client-<client>`. The CLI finds a
 * deployed stage's keys by this prefix, and the twin names the client of each key it issues by it.
 */
export function apiKeyName(stage: string, client: string): string {
  return `${apiKeyPrefix(stage)}${client}`;
}

/** The prefix of every API key name of a stage. */
export function apiKeyPrefix(stage: string): string {
  return `mlops-${stage}--client-`;
}

/** The client an API key's name belongs to in a stage, or undefined for a name the platform did not give. */
export function clientOfApiKeyName(stage: string, name: string): string | undefined {
  const prefix = apiKeyPrefix(stage);
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : undefined;
}
