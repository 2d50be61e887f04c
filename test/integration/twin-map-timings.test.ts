/**
 * The timings of an execution in the twin: each state's entry and end, and a distributed Map's
 * children summed up (count, durations, the middle child's input) on its state's entry.
 */
import { describe, expect, it } from 'vitest';
import { LocalStepFunctions, type TaskRunner } from '../../local/step-functions.ts';

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:timed';
const LAMBDA = 'arn:aws:states:::lambda:invoke';

function stepFunctions(lambda: TaskRunner) {
  return new LocalStepFunctions({
    machines: [
      {
        arn: ARN,
        definition: {
          StartAt: 'Before',
          States: {
            Before: { Type: 'Pass', Next: 'Fan' },
            Fan: {
              Type: 'Map',
              ItemsPath: '$.items',
              ItemBatcher: { MaxItemsPerBatch: 2 },
              MaxConcurrency: 2,
              ItemProcessor: {
                ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
                StartAt: 'Work',
                States: {
                  Work: {
                    Type: 'Task',
                    Resource: LAMBDA,
                    Parameters: { FunctionName: 'work', 'Payload.$': '$' },
                    OutputPath: '$.Payload',
                    End: true,
                  },
                },
              },
              ResultPath: '$.out',
              Next: 'After',
            },
            After: { Type: 'Pass', End: true },
          },
        },
      },
    ],
    task: (resource) => {
      if (resource === LAMBDA)
        return async (input) => ({ Payload: await lambda((input as { Payload: unknown }).Payload) });
      throw new Error(`no runner for ${resource}`);
    },
    waitMs: () => 0,
  });
}

describe('execution timings', () => {
  it('time each state and sum up the Map children: count, durations, the middle child input', async () => {
    // Batches of 2 items over 10 items: 5 children; the one with items 4 and 5 waits 120 ms.
    const sf = stepFunctions(async (payload) => {
      const { Items } = payload as { Items: number[] };
      await new Promise((r) => setTimeout(r, Items[0] === 4 ? 120 : 30));
      return Items.length;
    });
    const record = await sf.execute(ARN, { items: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(record.status).toBe('SUCCEEDED');
    const timings = record.timings ?? [];
    expect(timings.map((t) => t.state)).toEqual(['Before', 'Fan', 'After']);
    for (const t of timings) {
      expect(t.exitedAt).toBeDefined();
      expect(Date.parse(t.exitedAt!)).toBeGreaterThanOrEqual(Date.parse(t.enteredAt));
    }
    const fan = timings[1]!;
    expect(fan.map).toBeDefined();
    const map = fan.map!;
    expect(map.children).toBe(5);
    expect(map.failedChildren).toBe(0);
    expect(map.middleChildInput).toEqual({ Items: [4, 5] });
    expect(map.childMs.max).toBeGreaterThanOrEqual(115);
    expect(map.childMs.min).toBeGreaterThanOrEqual(25);
    expect(map.childMs.median).toBeLessThan(map.childMs.max);
    expect(map.childMs.total).toBeGreaterThanOrEqual(4 * 25 + 115);
    // The Map state lasts at least as long as its longest child.
    const mapMs = Date.parse(fan.exitedAt!) - Date.parse(fan.enteredAt);
    expect(mapMs).toBeGreaterThanOrEqual(map.childMs.max);
    expect(Date.parse(timings[2]!.enteredAt)).toBeGreaterThanOrEqual(Date.parse(fan.exitedAt!));
  });
});
