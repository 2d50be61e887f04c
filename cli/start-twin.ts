/**
 * Starting the local twin: synthesize (or take an assembly), boot, listen on loopback. The twin,
 * its local services (dynalite, s3rver, the state machine runner) and the CDK app are loaded here,
 * when a command starts a twin, and never by the commands that only talk to one.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TwinMonitoringSummary } from '../contracts/twin-api.ts';
import type { PlatformConfig } from '../lib/config.ts';
import { CliError } from './errors.ts';
import type { ServingMode } from './options.ts';

/** A twin started by {@link startTwin}. */
export interface RunningTwin {
  /** Base URL of the prediction API and the twin's control API. */
  url: string;
  /** The loopback endpoints of the twin's local services. */
  endpoints: { s3: string; dynamodb: string; sagemaker: string };
  /** The file the twin's functions log to. */
  logFile: string;
  /** The directory the twin keeps its state in, when it has one. */
  stateDir?: string;
  /** Executions of earlier runs on the state directory, and how many of them a stop cut off. */
  resumed: { executions: number; cutOff: number };
  /** What the twin's monitoring emulates of the templates' alarms, rules and schedules, and what not. */
  monitoring: TwinMonitoringSummary;
  /** The templates' resources the twin runs and those it does not, by logical id and type (local/coverage.ts). */
  coverage: string[];
  /** Stops the server and the twin, and removes what the twin made unless it keeps it in its state directory. */
  stop(): Promise<void>;
}

export interface StartTwinOptions {
  /** A loopback address (the twin has no authentication). */
  host: string;
  /** 0: any free port. */
  port: number;
  /** The platform config to synthesize with. */
  config: PlatformConfig;
  /** An already synthesized assembly; default: synthesize into a fresh temp dir. */
  assemblyDir?: string;
  /** Overrides the config's serving mode when synthesizing. */
  serving?: ServingMode;
  /** Synthesizes with the config's short monitoring settings (`fast: true`). */
  fast?: boolean;
  /**
   * Evaluates the alarms and runs the rules' schedules (the twin's `monitoring` option).
   * @default false
   */
  monitoring?: boolean;
  log?: (line: string) => void;
  /**
   * Keeps the twin's state (tables, buckets, executions, function log) in this directory, and
   * carries on from what an earlier twin left there.
   * @default none: the state is removed on stop
   */
  stateDir?: string;
  /** Removes the state directory (a twin's only) before starting, so the twin starts empty. */
  reset?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** Refuses a host that is not a loopback address, before anything is synthesized or started. */
export function checkLoopbackHost(host: string): void {
  if (!LOOPBACK.test(host)) {
    throw new CliError(
      `--host must be a loopback address (127.0.0.1, localhost or ::1); got "${host}". The twin has no authentication.`,
    );
  }
}

/** Boots a twin and serves its API on `host:port`; an address in use is a CliError naming the port. */
export async function startTwin(opts: StartTwinOptions): Promise<RunningTwin> {
  checkLoopbackHost(opts.host);
  let ownAssembly: string | undefined;
  let stopTwin: (() => Promise<void>) | undefined;
  try {
    let assemblyDir = opts.assemblyDir;
    if (!assemblyDir) {
      const [{ synthesize }, { buildConfig }] = await Promise.all([
        import('../lib/synth.ts'),
        import('../lib/config.ts'),
      ]);
      ownAssembly = mkdtempSync(join(tmpdir(), 'mlops-assembly-'));
      let { config } = opts;
      if (opts.serving) config = { ...config, serving: { ...config.serving, mode: opts.serving } };
      if (opts.fast) {
        // Through the config's own validation, which derives the models' fast drift settings.
        const { models, ...rest } = config;
        config = buildConfig({ ...rest, fast: true }, models, '--fast');
      }
      assemblyDir = synthesize(ownAssembly, config);
    }
    const [
      { LocalTwin },
      { createTwinServer },
      { resetStateDir, TWIN_STOPPED_ERROR },
      { twinCoverageLines },
    ] = await Promise.all([
      import('../local/twin.ts'),
      import('../local/server.ts'),
      import('../local/twin-state.ts'),
      import('../local/coverage.ts'),
    ]);
    if (opts.reset) {
      if (!opts.stateDir) throw new CliError('--reset needs a --state-dir to remove.');
      resetStateDir(opts.stateDir);
      opts.log?.(`removed the twin's state in ${opts.stateDir}: starting empty`);
    }
    const twin = new LocalTwin({
      assemblyDir,
      monitoring: opts.monitoring ?? false,
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    });
    stopTwin = () => twin.stop();
    await twin.start();
    const earlier = [...twin.executions];
    const server = createTwinServer(twin);
    server.listen(opts.port, opts.host);
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => {
        throw err;
      }),
    ]);
    const { port } = server.address() as AddressInfo;
    const assembly = ownAssembly;
    return {
      url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
      endpoints: { ...twin.endpoints },
      logFile: twin.logs.logFile,
      ...(twin.stateDirectory ? { stateDir: twin.stateDirectory } : {}),
      resumed: {
        executions: earlier.length,
        cutOff: earlier.filter((e) => e.error === TWIN_STOPPED_ERROR).length,
      },
      monitoring: twin.monitoring.summary(),
      coverage: await twinCoverageLines(twin),
      async stop() {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await twin.stop();
        if (assembly) rmSync(assembly, { recursive: true, force: true });
      },
    };
  } catch (err) {
    // A twin whose services started but which cannot serve would keep the process alive.
    await stopTwin?.().catch(() => {});
    if (ownAssembly) rmSync(ownAssembly, { recursive: true, force: true });
    if ((err as Error).name === 'TwinStateError') throw new CliError((err as Error).message);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        `Port ${opts.port} on ${opts.host} is in use by something that is not the twin; pass --port <n>.`,
      );
    }
    throw err;
  }
}
