/**
 * In Lambda, a function's stdout and stderr go to CloudWatch Logs, where EMF lines become metrics.
 * The twin does the same with its functions' instances: EMF lines are collected as metrics (one
 * point per metric and dimension set, as CloudWatch makes one series of each set) into the twin's
 * {@link MetricStore}, and structured log lines go to a log file (appended once per turn of the
 * event loop, see {@link LogCapture.flush}), so the terminal shows only what a person needs.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type MetricPoint, MetricStore, seriesKey } from './cloudwatch.ts';

export type { MetricPoint } from './cloudwatch.ts';

export class LogCapture {
  /** Lines taken but not yet appended to the log file. */
  private readonly pending: string[] = [];

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
    const read = this.reader(passthrough);
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => read(text));
    stream.on('end', () => read('', true));
  }

  /**
   * A reader of one output's text as it comes, in pieces that may end inside a line: each whole line
   * is kept (a log or metric line) or written to `passthrough`; `end` takes the last, unfinished one.
   */
  reader(passthrough: Writable): (text: string, end?: boolean) => void {
    let pending = '';
    const pass = (lines: string[]) => {
      const other = lines.filter((line) => !this.take(line));
      if (other.length > 0) passthrough.write(`${other.join('\n')}\n`);
    };
    return (text, end = false) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (end && pending !== '') {
        lines.push(pending);
        pending = '';
      }
      if (lines.length > 0) pass(lines);
    };
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
            const key = seriesKey(directive.Namespace, m.Name, dims);
            for (const value of Array.isArray(raw) ? raw : [raw]) {
              this.store.putValue(
                key,
                directive.Namespace,
                m.Name,
                dims,
                Number(value),
                m.Unit ?? 'None',
                aws.Timestamp,
              );
            }
          }
        }
      }
      this.append(line);
      return true;
    }
    if ('level' in obj && ('service' in obj || 'function_name' in obj)) {
      this.append(line);
      return true;
    }
    return false;
  }

  /**
   * Queues a line for the log file. The lines of one turn of the event loop are appended together
   * at the end of it (a busy twin takes lines from several invocations a turn), and at once by
   * {@link flush}.
   */
  private append(line: string): void {
    this.pending.push(line);
    if (this.pending.length === 1) setImmediate(() => this.flushQuietly());
  }

  /** The end-of-turn flush: a log whose directory its owner has removed takes no more lines. */
  private flushQuietly(): void {
    try {
      this.flush();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        process.stderr.write(`twin: could not append to ${this.logFile}: ${(err as Error).message}\n`);
      }
    }
  }

  /** Appends the queued lines to the log file now. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending.length = 0;
    appendFileSync(this.logFile, text);
  }
}
