/**
 * The twin's Step Functions with definitions held in memory: a parent state machine running a
 * child with `states:startExecution.sync:2` / `.sync`, as a promotion split into nested state
 * machines would, and `states:startExecution` started in the background.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '../../contracts/twin-api.ts';
import { LocalStepFunctions, type StateMachineDefinition } from '../../local/step-functions.ts';

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine';
const PARENT = `${ARN}:parent`;
const CHILD = `${ARN}:child`;
const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:score';

/** A child that doubles `$.value` in a Lambda task and fails, by its task or a Fail state, on request. */
const child: StateMachineDefinition = {
  arn: CHILD,
  definition: {
    StartAt: 'Check',
    States: {
      Check: {
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.refuse', IsPresent: true },
              { Variable: '$.refuse', BooleanEquals: true },
            ],
            Next: 'Refused',
          },
        ],
        Default: 'Score',
      },
      Score: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: LAMBDA, 'Payload.$': '$' },
        OutputPath: '$.Payload',
        Next: 'Done',
      },
      Done: { Type: 'Pass', End: true },
      Refused: { Type: 'Fail', Error: 'GuardrailRefused', Cause: 'the candidate lost' },
    },
  },
};

/** A parent that runs the child with the given resource and branches on the child's error. */
function parent(resource: string): StateMachineDefinition {
  return {
    arn: PARENT,
    kind: 'promotion',
    definition: {
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Pass', Next: 'RunChild' },
        RunChild: {
          Type: 'Task',
          Resource: resource,
          Parameters: { StateMachineArn: CHILD, 'Input.$': '$' },
          Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'ReadChildError' }],
          Next: 'Finish',
        },
        Finish: { Type: 'Pass', End: true },
        // Step Functions puts the child's description, its Error and Cause included, in the Cause.
        ReadChildError: {
          Type: 'Pass',
          Parameters: { 'child.$': 'States.StringToJson($.error.Cause)' },
          Next: 'WhichError',
        },
        WhichError: {
          Type: 'Choice',
          Choices: [{ Variable: '$.child.Error', StringEquals: 'GuardrailRefused', Next: 'Refused' }],
          Default: 'Failed',
        },
        Refused: { Type: 'Fail', Error: 'PromotionRefused' },
        Failed: { Type: 'Fail', Error: 'PromotionFailed' },
      },
    },
  };
}

/** The twin's Step Functions over the two machines; the Lambda doubles `value` or throws a named error. */
function stepFunctions(resource: string) {
  const calls: unknown[] = [];
  const sfn = new LocalStepFunctions({
    machines: [parent(resource), child],
    task: (taskResource) => async (input) => {
      expect(taskResource).toBe('arn:aws:states:::lambda:invoke');
      const payload = (input as { Payload: { value: number; throw?: string } }).Payload;
      calls.push(payload);
      if (payload.throw)
        throw Object.assign(new Error('the model file is not JSON'), { name: payload.throw });
      return { Payload: { value: payload.value * 2 } };
    },
    waitMs: () => 0,
  });
  return { sfn, calls };
}

describe('startExecution.sync:2 and .sync in the twin', () => {
  it('runs the child to its end and returns its description with the output parsed (.sync:2)', async () => {
    const { sfn } = stepFunctions('arn:aws:states:::states:startExecution.sync:2');
    const events: ExecutionEvent[] = [];

    const run = await sfn.execute(PARENT, { value: 21 }, (e) => events.push(e));

    expect(run.status, JSON.stringify(run)).toBe('SUCCEEDED');
    const out = run.output as Record<string, unknown>;
    expect(out).toMatchObject({
      Status: 'SUCCEEDED',
      StateMachineArn: CHILD,
      Input: { value: 21 },
      Output: { value: 42 },
    });
    expect(out.ExecutionArn).toMatch(/^arn:aws:states:us-east-1:000000000000:execution:child:/);
    expect(typeof out.StartDate).toBe('number');
    expect(out.StopDate as number).toBeGreaterThanOrEqual(out.StartDate as number);
    // The child's states follow the parent's task state, in the record and in the progress events.
    expect(run.states).toEqual(['Prepare', 'RunChild', 'Check', 'Score', 'Done', 'Finish']);
    expect(events.filter((e) => e.type === 'StateEntered').map((e) => e.state)).toEqual(run.states);
    const childRun = sfn.executions.find((r) => r.executionArn === out.ExecutionArn);
    expect(childRun).toMatchObject({ stateMachine: 'child', status: 'SUCCEEDED', output: { value: 42 } });
    expect(run.stateMachine).toBe('promotion');
  });

  it('returns Input and Output as JSON text for .sync', async () => {
    const { sfn } = stepFunctions('arn:aws:states:::states:startExecution.sync');

    const run = await sfn.execute(PARENT, { value: 5 });

    expect(run.status).toBe('SUCCEEDED');
    const out = run.output as Record<string, unknown>;
    expect(out.Output).toBe('{"value":10}');
    expect(out.Input).toBe('{"value":5}');
  });

  it("fails the task with States.TaskFailed whose cause carries the child's error and cause", async () => {
    const { sfn, calls } = stepFunctions('arn:aws:states:::states:startExecution.sync:2');
    const events: ExecutionEvent[] = [];

    const run = await sfn.execute(PARENT, { value: 1, refuse: true }, (e) => events.push(e));

    expect(calls).toEqual([]);
    const failed = events.find((e) => e.type === 'StateFailed' && e.state === 'RunChild');
    expect(failed?.error).toBe('States.TaskFailed');
    expect(JSON.parse(failed!.cause!)).toMatchObject({
      StateMachineArn: CHILD,
      Status: 'FAILED',
      Input: { value: 1, refuse: true },
      Error: 'GuardrailRefused',
      Cause: 'the candidate lost',
    });
    // The parent branched on the child's error, read from the cause as on AWS.
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PromotionRefused');
    expect(run.states).toEqual([
      'Prepare',
      'RunChild',
      'Check',
      'Refused',
      'ReadChildError',
      'WhichError',
      'Refused',
    ]);
    // The record's first failure is the child's.
    expect(run.taskError).toEqual({
      state: 'Refused',
      error: 'GuardrailRefused',
      cause: 'the candidate lost',
    });
  });

  it("reports the child's own task error as the parent's first task error", async () => {
    const { sfn } = stepFunctions('arn:aws:states:::states:startExecution.sync:2');

    const run = await sfn.execute(PARENT, { value: 1, throw: 'ArtifactInvalid' });

    expect(run.error).toBe('PromotionFailed');
    expect(run.taskError).toEqual({
      state: 'Score',
      error: 'ArtifactInvalid',
      cause: 'the model file is not JSON',
    });
  });

  it('starts a child without waiting for it with startExecution, and settle() returns it', async () => {
    const { sfn } = stepFunctions('arn:aws:states:::states:startExecution');

    const run = await sfn.execute(PARENT, { value: 4 });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(['Prepare', 'RunChild', 'Finish']);
    const started = (run.output as { ExecutionArn: string }).ExecutionArn;
    const settled = await sfn.settle();
    expect(settled.map((r) => [r.executionArn, r.status, r.output])).toEqual([
      [started, 'SUCCEEDED', { value: 8 }],
    ]);
  });

  it('refuses a state machine it does not have, naming the ones it has', async () => {
    const { sfn } = stepFunctions('arn:aws:states:::states:startExecution.sync:2');

    await expect(sfn.execute(`${ARN}:nope`, {})).rejects.toThrow(
      /no state machine .*:nope; it has .*:parent/,
    );
  });
});
