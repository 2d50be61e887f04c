import { clearLine, cursorTo, moveCursor } from 'node:readline';
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { duration, ExecutionProgress, isInteractive, Waiting } from '../../cli/progress.ts';
import type { ExecutionEvent } from '../../contracts/twin-api.ts';
import { LocalStepFunctions } from '../../local/step-functions.ts';

/** A stream that keeps what is written to it; a terminal when `isTTY`, with a terminal's cursor methods. */
class Screen extends Writable {
  columns = 120;
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  cursorTo(x: number, y?: number): boolean {
    return cursorTo(this, x, y);
  }
  moveCursor(dx: number, dy: number): boolean {
    return moveCursor(this, dx, dy);
  }
  clearLine(dir: -1 | 0 | 1): boolean {
    return clearLine(this, dir);
  }
}

/**
 * What a terminal shows once `text` is written to it: the cursor movements and line erasures of
 * the escapes applied, colors and other modes dropped.
 */
function screenOf(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape starts every control sequence
  for (const [token, args, command] of text.matchAll(/\u001b\[([0-9;?]*)([A-Za-z])|[^\u001b]/gu)) {
    if (command === 'G') col = Number(args || 1) - 1;
    else if (command === 'A') row = Math.max(0, row - Number(args || 1));
    else if (command === 'K') lines[row] = lines[row]!.slice(0, col);
    else if (command) continue;
    else if (token === '\n') {
      row += 1;
      col = 0;
      lines[row] ??= '';
    } else {
      const line = lines[row]!.padEnd(col);
      lines[row] = line.slice(0, col) + token + line.slice(col + 1);
      col += 1;
    }
  }
  return lines;
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const terminalEnv = { TERM: 'xterm-256color' };
const ESC = '\u001b';

/** A run with a nested state machine whose task fails after the parent's first state succeeded. */
function feedRun(progress: ExecutionProgress, advance: (ms: number) => void): void {
  const events: [number, ExecutionEvent][] = [
    [0, { type: 'StateEntered', state: 'Prepare' }],
    [1500, { type: 'StateExited', state: 'Prepare' }],
    [0, { type: 'StateEntered', state: 'Train' }],
    [0, { type: 'StateEntered', state: 'Fit' }],
    [2000, { type: 'StateExited', state: 'Fit' }],
    [2000, { type: 'StateFailed', state: 'Train', error: 'TrainingFailed', cause: 'AUC below 0.7' }],
  ];
  for (const [after, e] of events) {
    advance(after);
    progress.event(e);
  }
  progress.finish();
}

describe('progress of a state machine run', () => {
  it('off a terminal is exactly one plain line per state entered and one per failure', () => {
    const screen = new Screen(false);
    const c = clock();
    feedRun(new ExecutionProgress({ stream: screen, env: terminalEnv, now: c.now }), c.advance);
    expect(screen.text).toBe(
      ['  → Prepare', '  → Train', '  → Fit', '  ✗ Train: TrainingFailed — AUC below 0.7', ''].join('\n'),
    );
    expect(screen.text).not.toContain(ESC);
  });

  it('on a terminal draws a spinner and leaves each finished state as a line with its duration', () => {
    const screen = new Screen(true);
    const c = clock();
    feedRun(new ExecutionProgress({ stream: screen, env: terminalEnv, now: c.now }), c.advance);
    // The spinner is cleared (cursor to column 1, line erased) and redrawn, the cursor hidden and shown.
    expect(screen.text).toContain(`${ESC}[1G`);
    expect(screen.text).toContain(`${ESC}[0K`);
    expect(screen.text).toContain(`${ESC}[?25l`);
    expect(screen.text).toContain(`${ESC}[?25h`);
    const shown = stripVTControlCharacters(screen.text);
    // What was running, nested, with how long the innermost state has run.
    expect(shown).toMatch(/Train › Fit 0\.0s/);
    // Once done the spinner is gone and only the finished states stay, each with its duration;
    // Train, still open when the run ended, with its failure.
    expect(screenOf(screen.text)).toEqual([
      '  ✓ Prepare 1.5s',
      '  ✓ Fit 2.0s',
      '  ✗ Train 4.0s: TrainingFailed — AUC below 0.7',
      '',
    ]);
    expect(shown).not.toContain('→');
  });

  it.each([
    ['CI', { ...terminalEnv, CI: 'true' }, {}],
    ['NO_COLOR', { ...terminalEnv, NO_COLOR: '1' }, {}],
    ['TERM=dumb', { TERM: 'dumb' }, {}],
    ['a --json caller', terminalEnv, { plain: true }],
  ])('on a terminal but with %s is plain lines', (_why, env, extra) => {
    const screen = new Screen(true);
    const c = clock();
    feedRun(new ExecutionProgress({ stream: screen, env, now: c.now, ...extra }), c.advance);
    expect(screen.text).not.toContain(ESC);
    expect(screen.text.split('\n')[0]).toBe('  → Prepare');
  });

  it('shows the real events of the twin’s engine: a retried failure, then success', async () => {
    let calls = 0;
    const sfn = new LocalStepFunctions({
      machines: [
        {
          arn: 'arn:aws:states:us-east-1:123456789012:stateMachine:demo',
          definition: {
            StartAt: 'Flaky',
            States: {
              Flaky: {
                Type: 'Task',
                Resource: 'arn:aws:lambda:us-east-1:123456789012:function:flaky',
                Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 1 }],
                Next: 'Done',
              },
              Done: { Type: 'Succeed' },
            },
          },
        },
      ],
      task: () => async () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('try again'), { name: 'Throttled' });
        return { ok: true };
      },
      waitMs: () => 0,
    });
    const screen = new Screen(true);
    const progress = new ExecutionProgress({ stream: screen, env: terminalEnv });
    const record = await sfn.execute('arn:aws:states:us-east-1:123456789012:stateMachine:demo', {}, (e) =>
      progress.event(e),
    );
    progress.finish();
    expect(record.status).toBe('SUCCEEDED');
    const persisted = screenOf(screen.text).map((l) => l.replace(/\d+\.\ds/, 'Ns'));
    expect(persisted).toEqual([
      '  ✗ Flaky Ns: Throttled — try again, retrying',
      '  ✓ Flaky Ns',
      '  ✓ Done Ns',
      '',
    ]);
  });
});

describe('waiting for something outside', () => {
  const text = "waiting for the alarm's next evaluation and its rule…";

  it('off a terminal says it is still waiting only after a quiet spell, as plain lines', () => {
    const screen = new Screen(false);
    const c = clock();
    const waiting = new Waiting(text, { stream: screen, env: terminalEnv, now: c.now, every: 15_000 });
    c.advance(10_000);
    waiting.tick();
    c.advance(5_000);
    waiting.tick();
    c.advance(3_000);
    waiting.note(`${waiting.seconds()}s: alarm is ALARM`);
    c.advance(14_000);
    waiting.tick();
    c.advance(1_000);
    waiting.tick();
    waiting.stop();
    expect(screen.text).toBe([`  15s: ${text}`, '  18s: alarm is ALARM', `  33s: ${text}`, ''].join('\n'));
  });

  it('on a terminal spins with the seconds waited and keeps the noted lines', () => {
    const screen = new Screen(true);
    const c = clock();
    const waiting = new Waiting(text, { stream: screen, env: terminalEnv, now: c.now, every: 15_000 });
    c.advance(20_000);
    waiting.tick();
    waiting.note('20s: alarm is ALARM');
    // The line above, the spinner below it, indented as the lines are.
    const [noted, spinner] = screenOf(screen.text);
    expect(noted).toBe('  20s: alarm is ALARM');
    expect(spinner).toMatch(new RegExp(`^  \\S ${text} 20s$`));
    waiting.stop();
    expect(screenOf(screen.text)).toEqual(['  20s: alarm is ALARM', '']);
    const after = screen.text.length;
    expect(screen.text).toContain(`${ESC}[0K`);
    const shown = stripVTControlCharacters(screen.text);
    expect(shown).toContain(`${text} 0s`);
    expect(shown).toContain(`${text} 20s`);
    expect(shown).toContain('  20s: alarm is ALARM\n');
    // No "still waiting" lines: the spinner says it.
    expect(shown).not.toContain(`: ${text}`);
    // Stopped: nothing more is drawn.
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(screen.text.length).toBe(after);
        resolve();
      }, 200),
    );
  });
});

describe('when progress may be drawn', () => {
  it('needs a terminal, no CI, colors allowed and a capable TERM', () => {
    expect(isInteractive(new Screen(true), terminalEnv)).toBe(true);
    expect(isInteractive(new Screen(false), terminalEnv)).toBe(false);
    expect(isInteractive(new Screen(true), { ...terminalEnv, CI: '' })).toBe(false);
    expect(isInteractive(Object.assign(new Screen(true), { columns: 0 }), terminalEnv)).toBe(false);
  });

  it('writes durations as a person reads them', () => {
    expect([duration(420), duration(12_400), duration(185_000)]).toEqual(['0.4s', '12s', '3m 05s']);
  });
});
