/**
 * An HTTP server on a free loopback port, for the twin's emulated service endpoints (SageMaker,
 * Lambda): started once, its URL handed to the SDK clients as their `endpoint`, stopped with every
 * kept-alive connection dropped, so a stop never waits for an idle client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export abstract class LoopbackServer {
  private server: Server | undefined;

  /** What the service is called in errors. */
  protected abstract readonly serviceName: string;

  /** Answers one request; errors are the subclass's to answer. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Listens on a free loopback port and returns the URL to give the SDK clients as `endpoint`. */
  async start(): Promise<string> {
    if (this.server) throw new Error(`${this.serviceName} is already started`);
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Stops listening and drops kept-alive SDK connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
