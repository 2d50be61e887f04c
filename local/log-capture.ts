/**
 * In Lambda, a function's stdout and stderr go to CloudWatch Logs, where EMF lines become metrics.
 * The twin does the same with its functions' instances: EMF lines are collected as metrics (one
 * point per metric and dimension set, as CloudWatch makes one series of each set) into the twin's
 * {@link MetricStore}, and structured log lines go to a log file, so the terminal shows only what a
 * person needs.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type MetricPoint, MetricStore } from './cloudwatch.ts';

export type { MetricPoint } from './cloudwatch.ts';

export class LogCapture {
  constructor(
    readonly logFile: string,
    /** Where the metric points go. */
    readonly store: MetricStore = new MetricStore(),
  ) {
    mkdirSync(dirname(logFile), { recursive: true });
  }

  /** Every metric point kept (the functions' and the twin's own), oldest first. */
  get metrics(): MetricPoint[] {
    return this.store.all();
  }

  /**
   * Reads a function instance's stdout or stderr line by line: log and metric lines are kept, any
   * other line is written to `passthrough`.
   */
  attach(stream: Readable, passthrough: Writable): void {
    let pending = '';
    const pass = (lines: string[]) => {
      const other = lines.filter((line) => !this.take(line));
      if (other.length > 0) passthrough.write(`${other.join('\n')}\n`);
    };
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      pass(lines);
    });
    stream.on('end', () => {
      if (pending !== '') pass([pending]);
      pending = '';
    });
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
        // No dimension set at all is one series without dimensions.
        const sets = directive.Dimensions.length > 0 ? directive.Dimensions : [[]];
        for (const set of sets) {
          const dims: Record<string, string> = {};
          for (const d of set) dims[d] = String(obj[d]);
          for (const m of directive.Metrics) {
            const raw = obj[m.Name];
            for (const value of Array.isArray(raw) ? raw : [raw]) {
              this.store.put({
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
