/**
 * What a function instance writes reaches the twin's log capture: an invocation's lines before its
 * result, lines written after it answered (a timer) soon after, and a last line without a newline
 * once the instance ends. The function is a small bundle written for the test and run in the twin's
 * own instance worker.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFunctions } from '../../local/functions.ts';
import { LogCapture } from '../../local/log-capture.ts';

const FUNCTION = `
const emf = (name, value) => JSON.stringify({
  _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'Test', Dimensions: [['Model']], Metrics: [{ Name: name, Unit: 'Count' }] }] },
  Model: 'm',
  [name]: value,
});
export const handler = async (event) => {
  process.stdout.write(emf('Answered', event.n) + '\\n');
  console.log(JSON.stringify({ level: 'INFO', service: 'probe', message: 'answered ' + event.n }));
  if (event.later) setTimeout(() => process.stdout.write(emf('Later', event.n) + '\\n'), 20);
  if (event.unfinished) process.stderr.write(JSON.stringify({ level: 'WARN', service: 'probe', message: 'no newline' }));
  return { n: event.n };
};
`;

describe('a function instance’s output, taken by the twin', () => {
  let dir: string;
  let logs: LogCapture;
  let functions: LocalFunctions;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'function-output-'));
    writeFileSync(join(dir, 'index.mjs'), FUNCTION);
    logs = new LogCapture(join(dir, 'functions.log'));
    functions = new LocalFunctions(
      [
        {
          arn: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
          name: 'probe',
          logicalId: 'Probe',
          dir,
          entry: join(dir, 'index.mjs'),
          handler: 'index.handler',
          env: {},
          memoryMb: 128,
          timeoutSeconds: 10,
          runtime: 'nodejs22.x',
        },
      ],
      () => ({
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        endpoints: { s3: '', dynamodb: '', sagemaker: '', sagemakerRuntime: '', lambda: '' },
      }),
      logs,
    );
  });
  afterAll(async () => {
    await functions.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const points = (name: string) => logs.metrics.filter((p) => p.name === name).map((p) => p.value);

  it('GIVEN 50 concurrent invocations WHEN each resolves THEN its metric line was already taken, and every log line is in the log file', async () => {
    const fn = functions.find('probe')!;
    await Promise.all(
      Array.from({ length: 50 }, async (_, n) => {
        expect(await functions.invoke(fn, { n })).toEqual({ n });
        expect(points('Answered')).toContain(n);
      }),
    );
    expect(points('Answered').sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    logs.flush();
    const lines = readFileSync(logs.logFile, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.includes('"service":"probe"'))).toHaveLength(50);
  });

  it('GIVEN a function that writes after it answered WHEN its timer fires THEN the line reaches the twin without another invocation', async () => {
    const fn = functions.find('probe')!;
    await functions.invoke(fn, { n: 100, later: true });
    expect(points('Later')).toEqual([]);
    await expect.poll(() => points('Later'), { timeout: 2_000 }).toEqual([100]);
  });

  it('GIVEN a last line without a newline WHEN the instance ends THEN the line is taken', async () => {
    const fn = functions.find('probe')!;
    await functions.invoke(fn, { n: 200, unfinished: true });
    logs.flush();
    expect(readFileSync(logs.logFile, 'utf8')).not.toContain('no newline');
    await functions.stop();
    await expect
      .poll(
        () => {
          logs.flush();
          return readFileSync(logs.logFile, 'utf8');
        },
        { timeout: 2_000 },
      )
      .toContain('no newline');
  });
});
