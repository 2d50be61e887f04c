/**
 * The twin's control API on loopback, as the CLI and the twin's server both see it: what
 * `GET /_twin/info` answers, and the execution records and events `POST /_twin/executions`
 * streams. Types only, so the CLI can speak to a twin without loading the twin.
 */
import type { MachineKind } from './outputs.ts';

export interface TwinInfo {
  apiUrl: string;
  region: string;
  endpoints: { s3: string; dynamodb: string };
  outputs: Record<string, string | undefined>;
}

export interface ExecutionEvent {
  type: string;
  state?: string;
  error?: string;
  cause?: string;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachine: MachineKind;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  input: unknown;
  output?: unknown;
  /** The Fail state's error, and the first task error that led there. */
  error?: string;
  cause?: string;
  taskError?: { state: string; error: string; cause: string };
  /** The states entered, in order. */
  states: string[];
  startedAt: string;
  stoppedAt?: string;
}

export interface Notification {
  at: string;
  topicArn: string;
  subject?: string;
  message: string;
}
