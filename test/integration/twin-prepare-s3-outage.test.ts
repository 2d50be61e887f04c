/**
 * S3 becomes unavailable in the middle of the prepare step, in the twin with a state directory: the
 * functions reach the twin's S3 through a loopback proxy that, after letting the first writes of the
 * curated snapshot through, drops every connection (a real fault on the wire, not a mocked client).
 * The training run fails with `LakeUnavailable` from PrepareFeatures, the operators are told, no
 * snapshot is marked complete (its manifest is written last), nothing is registered, and once S3
 * answers again a rerun succeeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCsv, freshModel, ingestAs } from '../support/pipeline-fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

/** A proxy in front of an S3 endpoint that goes down after `writesBeforeOutage` writes under a prefix. */
class FlakyS3 {
  /** While true, every connection and request is dropped. */
  down = false;
  /** Writes under {@link prefix} let through before the outage; undefined: no outage planned. */
  writesBeforeOutage: number | undefined;
  /** Writes under the prefix that reached S3. */
  writesPassed = 0;
  /** Requests dropped while down. */
  dropped = 0;
  prefix = '';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  /** The proxy's own connections to S3, ended on close so that S3's server can stop. */
  private readonly agent = new Agent({ keepAlive: true });

  constructor(private readonly target: string) {
    this.server = createServer((req, res) => {
      if (
        !this.down &&
        req.method === 'PUT' &&
        this.prefix &&
        req.url?.includes(`/${this.prefix}`) &&
        this.writesBeforeOutage !== undefined
      ) {
        if (this.writesPassed >= this.writesBeforeOutage) this.goDown();
        else this.writesPassed++;
      }
      if (this.down) {
        this.dropped++;
        req.socket.destroy();
        return;
      }
      const upstream = request(
        `${this.target}${req.url}`,
        { method: req.method, headers: req.headers, agent: this.agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => req.socket.destroy());
      req.pipe(upstream);
    });
    this.server.on('connection', (socket: Socket) => {
      if (this.down) {
        this.dropped++;
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** S3 stops answering: open connections are cut, new ones are refused at once. */
  goDown(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  /** S3 answers again, with no outage planned. */
  comeBack(): void {
    this.down = false;
    this.writesBeforeOutage = undefined;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    this.agent.destroy();
  }
}

describe('S3 unavailable during prepare (twin with a state directory)', () => {
  let t: TestTwin;
  let s3: FlakyS3;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'twin-s3-outage-'));
    t = await startTestTwin(undefined, { stateDir });
    s3 = new FlakyS3(t.twin.endpoints.s3);
    // The functions' instances take the twin's endpoints when they start, and none has started yet:
    // from here on the functions reach S3 through the proxy, while the test reads the lake directly.
    t.twin.endpoints.s3 = await s3.listen();
  });
  afterAll(async () => {
    await s3?.close();
    await t?.twin.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('fails the run with LakeUnavailable, leaves no snapshot marked complete and registers nothing; a rerun once S3 is back succeeds', async () => {
    const model = freshModel();
    await ingestAs(t, model, { csv: demoCsv });
    const curated = `curated/${model}/`;
    s3.prefix = curated;
    s3.writesBeforeOutage = 2;

    const failed = await t.twin.execute('training', { model, seed: 42 });

    // The outage hit in the middle of the snapshot's writes.
    expect(s3.writesPassed, 'curated objects written before the outage').toBe(2);
    expect(s3.dropped, 'requests dropped during the outage').toBeGreaterThan(0);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('TrainingFailed');
    expect(failed.taskError).toMatchObject({ state: 'PrepareFeatures', error: 'LakeUnavailable' });
    expect(failed.taskError?.cause).toMatch(
      new RegExp(`could not be reached while (writing|reading) ${curated}.*run the training again`),
    );
    expect(failed.states).not.toContain('Train');
    expect(t.twin.notifications.at(-1)?.message).toContain(
      `Training of model ${model} failed with LakeUnavailable`,
    );
    const left = await t.lake.list(curated);
    expect(left.length, 'the writes that got through are in the lake').toBeGreaterThan(0);
    expect(
      left.filter((k) => k.endsWith('/manifest.json')),
      'no snapshot is marked complete',
    ).toEqual([]);
    expect(await t.registry.listVersions(model)).toEqual([]);

    s3.comeBack();
    const rerun = await t.twin.execute('training', { model, seed: 42 });
    expect(rerun.status, JSON.stringify(rerun.taskError)).toBe('SUCCEEDED');
    const out = rerun.output as { version: number; snapshotId: string };
    expect(out.version).toBe(1);
    // The same data and seed give the same snapshot, now complete: its manifest lists every file, each there.
    const manifest = JSON.parse(await t.lake.getText(`${curated}${out.snapshotId}/manifest.json`)) as {
      files: Record<string, { key: string }>;
    };
    const keys = await t.lake.list(curated);
    for (const file of Object.values(manifest.files)) expect(keys).toContain(file.key);
    expect((await t.registry.listVersions(model)).map((v) => v.version)).toEqual([1]);
  });
});
