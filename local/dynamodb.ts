/**
 * Starts the twin's DynamoDB (dynalite, in a worker thread of its own: local/dynamodb-worker.mjs) and
 * stops it. Tables are created and deleted at once (dynalite's delays set to zero), as the twin
 * creates them from the templates before anything runs. Tables live in memory, or with `path` in
 * LevelDB files in that directory (dynalite's on-disk store), where they outlast the process: LevelDB
 * writes each change to its log before answering, so a process killed outright loses nothing it
 * acknowledged.
 */
import { Worker } from 'node:worker_threads';

/** A running dynalite: its loopback endpoint, and how to stop it. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  stop(): Promise<void>;
}

type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string }
  | { type: 'closed' };

export interface LocalDynamoDbOptions {
  /**
   * A directory for the tables' LevelDB files (created if missing); the tables in it are served
   * again on the next start. Only one process at a time can hold it (LevelDB locks it).
   * @default tables in memory, gone on stop
   */
  path?: string;
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const worker = new Worker(new URL('./dynamodb-worker.mjs', import.meta.url), {
    workerData: {
      options: {
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
        ...(options.path ? { path: options.path } : {}),
      },
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'listening') resolve(m.port);
      if (m.type === 'error') reject(new Error(`dynalite could not start: ${m.message}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`dynalite's thread exited with ${code} before listening`)),
    );
  });
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage({ type: 'close' });
        // A thread that does not close in time is ended: the twin's stop must not hang on it.
        setTimeout(() => void worker.terminate(), 5_000).unref();
      });
      return stopping;
    },
  };
}
