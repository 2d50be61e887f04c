import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const stateDirs: string[] = [];
/** A state directory of its own for each twin a test starts, so each starts empty. */
function freshStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-demo-state-'));
  stateDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/mlops.js', ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('close', (code) => reject(new Error(`exited with ${code} before ${pattern}:\n${out}`)));
  });
}

describe('npx mlops demo, end to end', () => {
  it('GIVEN no twin listening WHEN the demo runs THEN it starts a fast twin and shows the canary, the refusal, the drift alarm, the automatic rollback and the status', async () => {
    const started = Date.now();
    const { code, out } = await run(['demo', '--twin', 'http://127.0.0.1:9']);
    const seconds = (Date.now() - started) / 1000;
    expect(out).toContain('starting one for this demo');
    expect(code, out).toBe(0);
    const served = [...out.matchAll(/served by v(\d+)/g)].map((m) => m[1]);
    expect(served).toEqual(['1', '2', '2', '1']);
    expect(out).toMatch(/golden set of credit is now g-[0-9a-f]{12}: the next training run evaluates on it/);
    // v2 went through the canary stage of its promotion before it took all traffic.
    expect(out).toContain('canary started at 10% beside v1');
    expect(out).toMatch(/canary verdict after \d+ bake\(s\): healthy; /);
    expect(out).toMatch(
      /credit v3 was refused by the guardrail:\n\s+- validation AUC 0\.\d{4} vs incumbent v2 0\.\d{4}: drop 0\.\d{4} > max 0\.0200/,
    );
    // The riskier population drifted the scores; the alarm fired and its rule rolled v2 back.
    expect(out).toMatch(/prediction: PSI \d+\.\d{3}, .*alarm/);
    expect(out).toMatch(/alarm mlops-dev-credit--prediction-drift (is|went to) ALARM/);
    expect(out).toMatch(
      /the platform rolled v2 back to v1 on its own: alarm mlops-dev-credit--prediction-drift: Threshold Crossed/,
    );
    expect(out).not.toContain('mlops rollback --reason');
    expect(out).toMatch(/prediction log: 1708 rows \(v1: 4, v2: 1704\)/);
    // The operator status names the rollback, its alarm and the alarm's state.
    expect(out).toMatch(/credit\s+production v1\b.* — since .*: rollback: Threshold Crossed/);
    expect(out).toMatch(/ALARM\s+prediction-drift\s+page\s+rollback/);
    expect(out).toMatch(/rollback\s+done\s+alarm\s+alarm mlops-dev-credit--prediction-drift: /);
    expect(out).toContain(
      'Demo complete: v1 → v2 (canary) → drift alarm → automatic rollback → v1 served; v3 refused.',
    );
    expect(out).toContain('then open http://127.0.0.1:3000/dashboard');
    expect(seconds, out).toBeLessThan(240);
  }, 240_000);

  it('runs the same loop on SageMaker endpoints with `local up --serving endpoint`, one variant per version', async () => {
    const twin = spawn(
      process.execPath,
      ['bin/mlops.js', 'local', 'up', '--port', '0', '--serving', 'endpoint', '--state-dir', freshStateDir()],
      { env: { ...process.env, NO_COLOR: '1' } },
    );
    try {
      const [, url] = await waitForLine(twin, /Local twin ready at (http:\/\/127\.0\.0\.1:\d+)/, 120_000);
      const { code, out } = await run(['demo', '--twin', url!]);
      expect(code, out).toBe(0);
      expect([...out.matchAll(/served by v(\d+)/g)].map((m) => m[1])).toEqual(['1', '2', '2', '1']);
      // This twin judges drift on the template's long periods: an operator rollback stands in.
      expect(out).toMatch(
        /the drift alarm and its automatic rollback are skipped: its alarm mlops-dev-credit--prediction-drift judges \d+ period\(s\) of \d+ s, too long for a demo/,
      );
      expect(out).toContain('rolled back from v2 to v1');
      const endpoints = (await (await fetch(`${url}/_twin/endpoints`)).json()) as {
        EndpointName: string;
        EndpointStatus: string;
        ProductionVariants: { VariantName: string; CurrentWeight: number }[];
        stats: Record<string, { invocations: number }>;
      }[];
      expect(endpoints).toHaveLength(1);
      const [endpoint] = endpoints;
      expect(endpoint).toMatchObject({ EndpointName: 'mlops-dev-credit', EndpointStatus: 'InService' });
      // After the rollback only v1 serves; v2 answered its two predictions from its own variant.
      expect(endpoint!.ProductionVariants.map((v) => [v.VariantName, v.CurrentWeight])).toEqual([['v1', 1]]);
      expect(endpoint!.stats.v1!.invocations).toBe(2);
      expect(endpoint!.stats.v2!.invocations).toBe(2);
      const show = await run(['show', '2', '--twin', url!]);
      expect(show.out).toMatch(/rollout\s+\S+\s+canary started at 10% beside v1/);
      expect(show.out).toMatch(/rollout\s+\S+\s+Production → RolledBack: demo: operator rollback/);
    } finally {
      const closed = new Promise<number | null>((r) => twin.on('close', r));
      twin.kill('SIGINT');
      await closed;
    }
  });

  it('uses the twin that `mlops local up` runs, and the twin stops cleanly on SIGINT', async () => {
    const twin = spawn(
      process.execPath,
      ['bin/mlops.js', 'local', 'up', '--port', '0', '--state-dir', freshStateDir()],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    try {
      const [, url] = await waitForLine(twin, /Local twin ready at (http:\/\/127\.0\.0\.1:\d+)/, 120_000);
      const { code, out } = await run(['demo', '--twin', url!]);
      expect(code, out).toBe(0);
      expect(out).toContain(`target: local twin at ${url}`);
      expect(out).toMatch(/credit\s+production v1\b.* — since .*: rollback: demo: operator rollback/);
      const models = await run(['models', '--twin', url!]);
      expect(models.out).toMatch(/credit: production v1\n/);
      expect(models.out).toMatch(/v2\s+RolledBack/);
      expect(models.out).toMatch(/v3\s+Rejected/);
      const show = await run(['show', '1', '--twin', url!]);
      expect(show.out).toMatch(/instance type\s+ml\.g5\.xlarge/);
      expect(show.out).toMatch(/data manifest\s+[0-9a-f]{64}/);
      // Every version of the demo was evaluated on the same reviewed golden set.
      expect(show.out).toMatch(/golden set\s+g-[0-9a-f]{12} \(200 rows, sha256 [0-9a-f]{64}\)/);
    } finally {
      const closed = new Promise<number | null>((r) => twin.on('close', r));
      twin.kill('SIGINT');
      expect(await closed).toBe(0);
    }
  });

  it('fails with a clear message when no twin is listening and no stage is given', async () => {
    const { code, out } = await run(['models', '--twin', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(out).toContain('No local twin answers at http://127.0.0.1:9');
  });
});
