/**
 * The twin's DynamoDB: dynalite on loopback in a thread of its own, as DynamoDB is a service of its
 * own, so that its work (validating, encoding and storing each item) runs beside the twin's API and
 * the function instances instead of between their turns. The twin (local/dynamodb.ts) starts it,
 * reads the port it listens on, and sends `close` to end it; closing the server closes its store, so
 * an on-disk store (`options.path`) is released for the next start.
 *
 * Plain JavaScript: a worker thread starts without the TypeScript loader that runs the twin.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

/** @type {{ options: Record<string, unknown> & { path?: string } }} */
const { options } = workerData;

/**
 * dynalite opens its store on the first request; a store it cannot open (held by another process)
 * would then fail every request. Opening it once here first turns that into a start error.
 */
async function checkStore(path) {
  mkdirSync(path, { recursive: true });
  // The LevelDB binding dynalite itself loads.
  const { Level } = createRequire(createRequire(import.meta.url).resolve('dynalite'))('level');
  const db = new Level(path, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    const cause = err.cause?.message ?? err.message;
    throw new Error(
      `cannot open the tables in ${path} (is another twin using this state directory?): ${cause}`,
    );
  }
  await db.close();
}

try {
  if (options.path) await checkStore(options.path);
} catch (err) {
  parentPort.postMessage({ type: 'error', message: err.message });
  process.exit(1);
}

const server = dynalite(options);

server.listen(0, '127.0.0.1', () => {
  parentPort.postMessage({ type: 'listening', port: server.address().port });
});
server.on('error', (err) => {
  parentPort.postMessage({ type: 'error', message: err.message });
});
parentPort.on('message', (message) => {
  if (message.type !== 'close') return;
  server.closeAllConnections?.();
  server.close(() => {
    parentPort.postMessage({ type: 'closed' });
    parentPort.close();
  });
});
