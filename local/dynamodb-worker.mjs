/**
 * The twin's DynamoDB: dynalite on loopback in a thread of its own, as DynamoDB is a service of its
 * own, so that its work (validating, encoding and storing each item) runs beside the twin's API and
 * the function instances instead of between their turns. The twin (local/dynamodb.ts) starts it,
 * reads the port it listens on, and sends `close` to end it.
 *
 * Plain JavaScript: a worker thread starts without the TypeScript loader that runs the twin.
 */
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

/** @type {{ options: Record<string, unknown> }} */
const { options } = workerData;
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
