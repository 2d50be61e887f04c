/** Starting the local twin: synthesize, boot, listen on loopback. */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectConfig } from '../lib/config.ts';
import { synthesize } from '../lib/synth.ts';
import { createTwinServer } from '../local/server.ts';
import { LocalTwin } from '../local/twin.ts';
import { CliError } from './commands.ts';

export interface RunningTwin {
  twin: LocalTwin;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export interface StartTwinOptions {
  host: string;
  port: number;
  /** An already synthesized assembly; default: synthesize into a fresh temp dir. */
  assemblyDir?: string;
  /** Overrides the config's serving mode when synthesizing. */
  serving?: 'lambda' | 'endpoint';
  log?: (line: string) => void;
}

export async function startTwin(opts: StartTwinOptions): Promise<RunningTwin> {
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(opts.host)) {
    throw new CliError(
      `--host must be a loopback address (127.0.0.1, localhost or ::1); got "${opts.host}". The twin has no authentication.`,
    );
  }
  let assemblyDir = opts.assemblyDir;
  let ownAssembly: string | undefined;
  if (!assemblyDir) {
    ownAssembly = mkdtempSync(join(tmpdir(), 'mlops-assembly-'));
    mkdirSync(ownAssembly, { recursive: true });
    const config = projectConfig();
    assemblyDir = synthesize(
      ownAssembly,
      opts.serving ? { ...config, serving: { ...config.serving, mode: opts.serving } } : config,
    );
  }
  const twin = new LocalTwin({ assemblyDir, ...(opts.log ? { log: opts.log } : {}) });
  await twin.start();
  const server = createTwinServer(twin);
  server.listen(opts.port, opts.host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => {
        throw err;
      }),
    ]);
  } catch (err) {
    await twin.stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        `Port ${opts.port} on ${opts.host} is in use by something that is not the twin; pass --port <n>.`,
      );
    }
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  return {
    twin,
    server,
    url,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await twin.stop();
      if (ownAssembly) rmSync(ownAssembly, { recursive: true, force: true });
    },
  };
}
