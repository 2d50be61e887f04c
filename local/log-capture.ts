/**
 * In Lambda, a function's stdout goes to CloudWatch Logs, where EMF lines become metrics. The twin
 * does the same with its in-process functions: EMF lines are collected as metrics and structured
 * log lines go to a log file, so the terminal shows only what a person needs.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface MetricPoint {
  namespace: string;
  name: string;
  value: number;
  unit: string;
  dimensions: Record<string, string>;
  timestamp: number;
}

type Write = typeof process.stdout.write;

export class LogCapture {
  readonly metrics: MetricPoint[] = [];
  private original: Write | undefined;

  constructor(readonly logFile: string) {
    mkdirSync(dirname(logFile), { recursive: true });
  }

  start(): void {
    if (this.original) return;
    const original = process.stdout.write.bind(process.stdout) as Write;
    this.original = original;
    let pending = '';
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const passthrough: string[] = [];
      for (const line of lines) {
        if (!this.take(line)) passthrough.push(line);
      }
      if (passthrough.length > 0) return original(`${passthrough.join('\n')}\n`, ...(rest as []));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as Write;
  }

  stop(): void {
    if (this.original) process.stdout.write = this.original;
    this.original = undefined;
  }

  /** Returns true when the line was a function's log or metric line and has been kept. */
  private take(line: string): boolean {
    if (!line.startsWith('{')) return false;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return false;
    }
    const aws = obj._aws as
      | {
          Timestamp: number;
          CloudWatchMetrics: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string; Unit?: string }[];
          }[];
        }
      | undefined;
    if (aws?.CloudWatchMetrics) {
      for (const directive of aws.CloudWatchMetrics) {
        const dims: Record<string, string> = {};
        for (const set of directive.Dimensions) for (const d of set) dims[d] = String(obj[d]);
        for (const m of directive.Metrics) {
          const raw = obj[m.Name];
          for (const value of Array.isArray(raw) ? raw : [raw]) {
            this.metrics.push({
              namespace: directive.Namespace,
              name: m.Name,
              value: Number(value),
              unit: m.Unit ?? 'None',
              dimensions: dims,
              timestamp: aws.Timestamp,
            });
          }
        }
      }
      appendFileSync(this.logFile, `${line}\n`);
      return true;
    }
    if ('level' in obj && ('service' in obj || 'function_name' in obj)) {
      appendFileSync(this.logFile, `${line}\n`);
      return true;
    }
    return false;
  }
}
