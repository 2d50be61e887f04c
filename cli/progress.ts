/**
 * Progress of long work (a state machine's run, the demo's wait for an alarm). On a terminal a
 * spinner shows what is under way and for how long, and each finished state stays behind as a line
 * with its duration; anywhere else (a pipe, a file, CI, NO_COLOR, a caller that prints JSON) it is
 * plain lines, one per state, without escape codes.
 */
import ora, { type Ora } from 'ora';
import type { ExecutionEvent } from '../contracts/twin-api.ts';
import { palette } from './print.ts';

/** Where progress goes: a writable stream, a terminal when `isTTY` is true (with its cursor methods). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ProgressOptions {
  /**
   * Where the progress is written.
   * @default process.stdout
   */
  readonly stream?: ProgressStream;
  /**
   * The environment that says whether a terminal may be drawn on (`CI`, `NO_COLOR`, `TERM=dumb`).
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Plain lines even on a terminal: for a caller whose stdout is for a machine (`--json`).
   * @default false
   */
  readonly plain?: boolean;
  /**
   * The clock durations are measured with, in milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
}

/**
 * Whether progress may be drawn as a spinner: a terminal with a width (a pseudo-terminal may say it
 * has no columns, and the spinner cannot count the lines it takes there), not CI, colors allowed, a
 * capable TERM.
 */
export function isInteractive(stream: ProgressStream, env: ProgressOptions['env'] = process.env): boolean {
  return (
    stream.isTTY === true && stream.columns !== 0 && !('CI' in env) && !env.NO_COLOR && env.TERM !== 'dumb'
  );
}

/** A duration as a person reads it: `0.4s`, `12s`, `3m 05s`. */
export function duration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

const INDENT = '  ';

/** Lines and, on a terminal, one spinner below them; a line written while it spins goes above it. */
class ProgressOutput {
  readonly interactive: boolean;
  readonly colors: ReturnType<typeof palette>;
  readonly now: () => number;
  private readonly stream: ProgressStream;
  private spinner: Ora | undefined;

  constructor(opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stdout;
    this.interactive = !opts.plain && isInteractive(this.stream, opts.env ?? process.env);
    this.colors = palette(this.interactive);
    this.now = opts.now ?? Date.now;
  }

  line(text: string): void {
    // While the spinner runs it holds the stream's writes: it clears itself, lets the line
    // through and draws itself again below it.
    this.stream.write(`${INDENT}${text}\n`);
  }

  /** Shows the spinner with `text`, followed by what `suffix` gives at each frame. */
  spin(text: string, suffix: () => string): void {
    if (!this.interactive) return;
    if (!this.spinner) {
      this.spinner = ora({
        stream: this.stream,
        isEnabled: true,
        // Indented as the lines are, by a prefix: ora's own indent would leave the cursor there
        // after clearing the spinner, indenting the next line twice.
        prefixText: INDENT.slice(1),
        discardStdin: false,
        text,
        suffixText: suffix,
      }).start();
    } else {
      this.spinner.text = text;
      this.spinner.suffixText = suffix;
      this.spinner.render();
    }
  }

  /** Removes the spinner, leaving the lines above it. */
  stopSpinning(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }
}

interface OpenState {
  readonly name: string;
  started: number;
  failure?: string;
  caught?: boolean;
}

function failureOf(e: ExecutionEvent): string {
  return [e.error, e.cause].filter(Boolean).join(' — ') || 'failed';
}

/**
 * The progress of one execution of a state machine, fed its events in order. States may be open
 * together: a task that runs a nested state machine stays open while the child's states come and go.
 */
export class ExecutionProgress {
  private readonly out: ProgressOutput;
  private readonly open: OpenState[] = [];

  constructor(opts: ProgressOptions = {}) {
    this.out = new ProgressOutput(opts);
  }

  event(e: ExecutionEvent): void {
    if (!e.state) return;
    const { dim, red } = this.out.colors;
    if (!this.out.interactive) {
      if (e.type === 'StateEntered') this.out.line(`→ ${e.state}`);
      if (e.type === 'StateFailed') this.out.line(`✗ ${e.state}: ${failureOf(e)}`);
      return;
    }
    const now = this.out.now();
    const state = this.open.findLast((s) => s.name === e.state);
    switch (e.type) {
      case 'StateEntered':
        this.open.push({ name: e.state, started: now });
        break;
      case 'StateFailed':
        if (state) state.failure = failureOf(e);
        break;
      case 'StateRetried':
        if (state) {
          this.out.line(
            `${red('✗')} ${e.state} ${dim(duration(now - state.started))}: ${state.failure ?? 'failed'}, retrying`,
          );
          state.started = now;
          delete state.failure;
        }
        break;
      case 'StateCaught':
        if (state) state.caught = true;
        break;
      case 'StateExited':
        if (state) this.close(state, now);
        break;
    }
    this.show();
  }

  /** The execution has ended: the spinner goes, and a state left open is written as it stands. */
  finish(): void {
    this.out.stopSpinning();
    const now = this.out.now();
    for (const state of [...this.open].reverse()) this.close(state, now);
  }

  private close(state: OpenState, now: number): void {
    this.open.splice(this.open.indexOf(state), 1);
    const { dim, green, red } = this.out.colors;
    const took = dim(duration(now - state.started));
    if (state.failure)
      this.out.line(`${red('✗')} ${state.name} ${took}: ${state.failure}${state.caught ? ' (caught)' : ''}`);
    else this.out.line(`${green('✓')} ${state.name} ${took}`);
  }

  private show(): void {
    const latest = this.open.at(-1);
    if (!latest) {
      this.out.stopSpinning();
      return;
    }
    this.out.spin(this.open.map((s) => s.name).join(' › '), () =>
      this.out.colors.dim(duration(this.out.now() - latest.started)),
    );
  }
}

/**
 * Waiting for something outside (an alarm's evaluation): on a terminal a spinner with the seconds
 * waited; elsewhere a line saying so when nothing has been said for `every` milliseconds.
 */
export class Waiting {
  private readonly out: ProgressOutput;
  private readonly started: number;
  private readonly every: number;
  private lastLine: number;

  constructor(
    private readonly text: string,
    opts: ProgressOptions & { readonly every?: number } = {},
  ) {
    this.out = new ProgressOutput(opts);
    this.started = this.out.now();
    this.lastLine = this.started;
    this.every = opts.every ?? 15_000;
    this.out.spin(text, () => this.out.colors.dim(`${this.seconds()}s`));
  }

  /** Whole seconds since the wait began. */
  seconds(): number {
    return Math.round((this.out.now() - this.started) / 1000);
  }

  /** A line about what happened while waiting; it stays, above the spinner on a terminal. */
  note(line: string): void {
    this.lastLine = this.out.now();
    this.out.line(line);
  }

  /** Called as the wait goes on: off a terminal, says it is still waiting now and then. */
  tick(): void {
    if (this.out.interactive || this.out.now() - this.lastLine < this.every) return;
    this.note(this.out.colors.dim(`${this.seconds()}s: ${this.text}`));
  }

  /** The wait is over: the spinner goes. */
  stop(): void {
    this.out.stopSpinning();
  }
}
