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
