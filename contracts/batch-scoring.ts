/** What the batch-scoring state machine's last step returns for a finished job; the CLI prints it. */

/** A finished batch-scoring job: `mlops score-batch --json` prints it without `durationSeconds`. */
export interface BatchScoringSummary {
  job: string;
  model: string;
  version: number;
  rows: number;
  scored: number;
  quarantined: number;
  /** The job's output prefix, as an S3 URI. */
  output: string;
  durationSeconds: number;
}
