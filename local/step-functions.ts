/**
 * Step Functions in the twin: state machine definitions (the templates' own ASL) run by
 * aws-local-stepfunctions, each Task state handed to the twin by resource. Step Functions' own
 * integrations are served here, so they work with definitions held in memory:
 *   - `states:startExecution` starts a child execution and returns at once (settle() waits for it);
 *   - `states:startExecution.sync` and `.sync:2` run the child to its end and return what Step
 *     Functions returns (DescribeExecution's fields: `Output` as a JSON string for `.sync`, parsed
 *     for `.sync:2`). A failed child fails the task with `States.TaskFailed`, its cause the child's
 *     description as JSON, whose `Error` and `Cause` are the child's (as in Step Functions, where a
 *     parent that wants to branch on the child's error reads them from that JSON).
 * The states a child entered are added to its parent's record after the parent's task state, so
 * a record lists every state that ran on its behalf. A record also times its own states (entered,
 * left), and a distributed Map's entry sums up its children (count, durations, the middle child's
 * input) rather than listing them.
 *
 * Time is compressed: Wait states last {@link StepFunctionsOptions.waitMs}, retries 10 ms. A Task
 * state without TimeoutSeconds has no time limit, as in Step Functions (the library would apply the
 * States Language's 60 s, which a `.sync` task running a long child would hit).
 */
import './polyfill.ts';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { ExecutionEvent, ExecutionRecord, MapRunTiming, StateTiming } from '../contracts/twin-api.ts';
import {
  checkDistributedMaps,
  type DistributedMapState,
  type MapStorage,
  replaceDistributedMaps,
  runDistributedMap,
} from './distributed-map.ts';

/** A state machine the twin can run. */
export interface StateMachineDefinition {
  readonly arn: string;
  /** The ASL, with its definition substitutions applied. */
  readonly definition: Record<string, unknown>;
  /** What an operator calls it (training, promotion, rollback), when it is one an operator starts. */
  readonly kind?: string;
}

/** Runs one Task state's resource; the input is the state's effective input. */
export type TaskRunner = (input: unknown) => Promise<unknown>;

export interface StepFunctionsOptions {
  readonly machines: readonly StateMachineDefinition[];
  /** The runner of a Task resource that is not Step Functions' own (Lambda, SageMaker, SNS, ...). */
  readonly task: (resource: string, stateName: string) => TaskRunner;
  /** How long a Wait state lasts, in ms, by state name; read when an execution starts. */
  readonly waitMs: (stateName: string) => number;
  /** Progress lines (executions started by other executions). */
  readonly log?: (line: string) => void;
  /** Called when any execution starts (children included), with its record. */
  readonly onStart?: (record: ExecutionRecord) => void;
  /** Called when any execution ends, with its final record. */
  readonly onEnd?: (record: ExecutionRecord) => void;
  /** Executions that ended before this start (a twin started again on its state), listed first. */
  readonly history?: readonly ExecutionRecord[];
  /** The S3 that distributed Map states read items from and write results to. */
  readonly storage?: MapStorage;
}

const START_EXECUTION = 'arn:aws:states:::states:startExecution';
const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync';
const START_EXECUTION_SYNC2 = 'arn:aws:states:::states:startExecution.sync:2';

/** Where a child execution reports the states it entered and its first task error. */
interface ParentLink {
  /** Called for every event of the child, so progress shows nested states as they happen. */
  onEvent: (e: ExecutionEvent) => void;
  /** Hands the child's record to the parent once the child has ended. */
  ended: (child: ExecutionRecord) => void;
}

type StateDef = {
  Type: string;
  Resource?: string;
  Retry?: unknown;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Iterator?: { States?: Record<string, StateDef> };
  ItemProcessor?: { States?: Record<string, StateDef> };
  Branches?: { States?: Record<string, StateDef> }[];
};

interface Compiled {
  readonly sm: StateMachine;
  readonly states: Record<string, unknown>;
  readonly maps: Map<string, DistributedMapState>;
}

/** The longest a timer can wait in Node (about 24 days), in seconds: "no limit" for a Task state. */
const NO_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** The definition with Step Functions' default (no limit) on every Task state that sets no timeout. */
function withTaskTimeouts(states: Record<string, StateDef> | undefined): Record<string, StateDef> {
  const out: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(states ?? {})) {
    const copy: StateDef = { ...state };
    if (copy.Type === 'Task' && copy.TimeoutSeconds === undefined && copy.TimeoutSecondsPath === undefined) {
      copy.TimeoutSeconds = NO_TASK_TIMEOUT_SECONDS;
    }
    if (copy.Iterator) copy.Iterator = { ...copy.Iterator, States: withTaskTimeouts(copy.Iterator.States) };
    if (copy.ItemProcessor) {
      copy.ItemProcessor = { ...copy.ItemProcessor, States: withTaskTimeouts(copy.ItemProcessor.States) };
    }
    if (copy.Branches)
      copy.Branches = copy.Branches.map((b) => ({ ...b, States: withTaskTimeouts(b.States) }));
    out[name] = copy;
  }
  return out;
}

/** Every state of a definition by name, those inside Map and Parallel states included. */
function allStates(states: Record<string, StateDef> | undefined): [string, StateDef][] {
  const out: [string, StateDef][] = [];
  for (const [name, state] of Object.entries(states ?? {})) {
    out.push([name, state]);
    out.push(...allStates(state.Iterator?.States), ...allStates(state.ItemProcessor?.States));
    for (const branch of state.Branches ?? []) out.push(...allStates(branch.States));
  }
  return out;
}

function executionArn(machineArn: string, name: string): string {
  return `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The twin's Step Functions: executions of the given state machines, by ARN. */
export class LocalStepFunctions {
  /** Every execution, in the order they started (children included). */
  readonly executions: ExecutionRecord[] = [];
  private readonly machines = new Map<string, StateMachineDefinition>();
  /** Executions started by other executions (`states:startExecution`), still running or done. */
  private readonly background: Promise<ExecutionRecord>[] = [];
  private readonly compiled = new WeakMap<StateMachineDefinition, Compiled>();
  /** The machine a distributed Map's ItemProcessor runs as, by processor. */
  private readonly processors = new WeakMap<object, StateMachineDefinition>();

  constructor(private readonly options: StepFunctionsOptions) {
    for (const m of options.machines) {
      checkDistributedMaps(m.arn, (m.definition.States ?? {}) as Record<string, unknown>);
      this.machines.set(m.arn, m);
    }
    this.executions.push(...(options.history ?? []));
  }

  /** A state machine by ARN. */
  machine(arn: string): StateMachineDefinition | undefined {
    return this.machines.get(arn);
  }

  /** Runs one execution to its end; `onEvent` sees each state as it happens. */
  async execute(
    stateMachineArn: string,
    input: unknown,
    onEvent: (e: ExecutionEvent) => void = () => {},
  ): Promise<ExecutionRecord> {
    return this.start(stateMachineArn, input, { onEvent }).done;
  }

  /**
   * Starts an execution and returns at once, as StartExecution does (an EventBridge rule's target,
   * for one); settle() waits for it. Its states show in the progress lines.
   */
  startExecution(stateMachineArn: string, input: unknown, name?: string): ExecutionRecord {
    const started = this.start(stateMachineArn, input, {
      ...(name ? { name } : {}),
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.state)
          this.options.log?.(`[${started.record.stateMachine}] → ${e.state}`);
      },
    });
    this.background.push(started.done);
    return started.record;
  }

  /** Waits for every execution started without waiting (by other executions, by rules); returns their records. */
  async settle(): Promise<ExecutionRecord[]> {
    const done: ExecutionRecord[] = [];
    while (this.background.length > 0) done.push(await this.background.shift()!);
    return done;
  }

  private start(
    stateMachineArn: string,
    input: unknown,
    opts: { onEvent: (e: ExecutionEvent) => void; name?: string; parent?: ParentLink },
  ): { record: ExecutionRecord; done: Promise<ExecutionRecord> } {
    const machine = this.machines.get(stateMachineArn);
    if (!machine) {
      throw new Error(
        `The twin has no state machine ${stateMachineArn}; it has ${[...this.machines.keys()].join(', ')}`,
      );
    }
    const name = opts.name ?? randomUUID();
    const record: ExecutionRecord = {
      executionArn: executionArn(machine.arn, name),
      stateMachine: machine.kind ?? machine.arn.slice(machine.arn.lastIndexOf(':') + 1),
      stateMachineArn: machine.arn,
      status: 'RUNNING',
      input,
      states: [],
      startedAt: new Date().toISOString(),
    };
    this.executions.push(record);
    this.options.onStart?.(record);
    return { record, done: this.run(machine, record, name, opts.onEvent, opts.parent) };
  }

  /**
   * A machine's definition as the library runs it (distributed Maps replaced, Task timeouts set),
   * built once per machine: validating a definition takes the library about 300 ms, which a
   * distributed Map would otherwise pay for every child.
   */
  private compile(machine: StateMachineDefinition): Compiled {
    let compiled = this.compiled.get(machine);
    if (!compiled) {
      const { states, maps } = replaceDistributedMaps(machine.definition.States as Record<string, unknown>);
      const definition = {
        ...machine.definition,
        States: withTaskTimeouts(states as Record<string, StateDef>),
      };
      const sm = new StateMachine(definition as never, {
        validationOptions: { checkPaths: true, checkArn: true },
      });
      compiled = { sm, states, maps };
      this.compiled.set(machine, compiled);
    }
    return compiled;
  }

  /**
   * Runs a distributed Map's child: the ItemProcessor's states as an execution of their own, kept
   * out of the list of executions and the start and end hooks (a map may run thousands); the
   * parent's record sums up its children's states instead.
   */
  private runMapChild(
    processor: { StartAt: string; States: Record<string, unknown> },
    machineArn: string,
    executionArn: string,
    input: unknown,
  ): Promise<ExecutionRecord> {
    let machine = this.processors.get(processor);
    if (!machine) {
      machine = { arn: machineArn, definition: { StartAt: processor.StartAt, States: processor.States } };
      this.processors.set(processor, machine);
    }
    const name = executionArn.slice(executionArn.lastIndexOf(':') + 1);
    const record: ExecutionRecord = {
      executionArn,
      stateMachine: machineArn.slice(machineArn.lastIndexOf(':') + 1),
      stateMachineArn: machineArn,
      status: 'RUNNING',
      input,
      states: [],
      startedAt: new Date().toISOString(),
    };
    return this.run(machine, record, name, () => {}, undefined, true);
  }

  private async run(
    machine: StateMachineDefinition,
    record: ExecutionRecord,
    name: string,
    onEvent: (e: ExecutionEvent) => void,
    parent: ParentLink | undefined,
    mapChild = false,
  ): Promise<ExecutionRecord> {
    const handlers: Record<string, TaskRunner> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const waitTimeOverrides: Record<string, number> = {};
    // A child's states and task error, by the parent's task state that ran it; added to the
    // record when the consumer below reaches that state's end, so they follow it in order.
    const nested = new Map<string, ExecutionRecord[]>();
    const addNested = (stateName: string, child: ExecutionRecord) => {
      const list = nested.get(stateName) ?? [];
      list.push(child);
      nested.set(stateName, list);
    };
    // A distributed Map's children summed up, by state; added to the state's timing at its end.
    const mapTimings = new Map<string, MapRunTiming>();
    const { sm, states, maps } = this.compile(machine);
    for (const [stateName, state] of allStates(states as Record<string, StateDef>)) {
      if (state.Retry) retryIntervalOverrides[stateName] = 10;
      if (state.Type === 'Wait') waitTimeOverrides[stateName] = this.options.waitMs(stateName);
      if (state.Type !== 'Task') continue;
      const map = maps.get(stateName);
      if (map) {
        handlers[stateName] = this.distributedMapRunner(
          machine.arn,
          record,
          stateName,
          map,
          (summary) => addNested(stateName, summary),
          (timing) => mapTimings.set(stateName, timing),
        );
        continue;
      }
      handlers[stateName] = this.taskRunner(stateName, String(state.Resource), {
        onEvent,
        ended: (child) => addNested(stateName, child),
      });
    }
    const execution = sm.run(record.input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides, waitTimeOverrides },
      context: {
        Execution: { Id: record.executionArn, Name: name },
        StateMachine: { Id: machine.arn, Name: machine.arn.slice(machine.arn.lastIndexOf(':') + 1) },
      } as never,
    });
    // A map child's timings are not kept: its parent's Map state sums the children up.
    const timings: StateTiming[] | undefined = mapChild ? undefined : [];
    if (timings) record.timings = timings;
    const watching = (async () => {
      for await (const ev of execution.eventLogs) {
        const e = ev as {
          type: string;
          timestamp?: number;
          state?: { name: string };
          Error?: string;
          Cause?: string;
          error?: string;
          cause?: string;
        };
        const event: ExecutionEvent = {
          type: e.type,
          ...(e.state?.name ? { state: e.state.name } : {}),
          ...((e.Error ?? e.error) ? { error: e.Error ?? e.error } : {}),
          ...((e.Cause ?? e.cause) ? { cause: String(e.Cause ?? e.cause) } : {}),
        };
        if (e.type === 'StateEntered' && event.state) record.states.push(event.state);
        if (timings && event.state) timeState(timings, mapTimings, e.type, event.state, e.timestamp);
        const children = event.state && e.type !== 'StateEntered' ? nested.get(event.state) : undefined;
        if (children) {
          nested.delete(event.state!);
          for (const child of children) {
            record.states.push(...child.states);
            if (!record.taskError && child.taskError) record.taskError = child.taskError;
          }
        }
        if (e.type === 'StateFailed' && !record.taskError && event.state) {
          record.taskError = { state: event.state, error: event.error ?? 'Error', cause: event.cause ?? '' };
        }
        onEvent(event);
      }
    })();
    try {
      record.output = await execution.result;
      record.status = 'SUCCEEDED';
    } catch (err) {
      record.status = 'FAILED';
      const e = err as { name?: string; message?: string; cause?: { name?: string; message?: string } };
      record.error = e.cause?.name ?? e.name ?? 'Error';
      record.cause = e.cause?.message ?? e.message ?? '';
    }
    await watching.catch(() => {});
    record.stoppedAt = new Date().toISOString();
    if (!mapChild) this.options.onEnd?.(record);
    parent?.ended(record);
    return record;
  }

  /**
   * The runner of the Task standing for a distributed Map: runs the map (local/distributed-map.ts),
   * then hands the parent's record a summary of the children, `<state> ×<times entered>`, and, when
   * the map fails, the first failed child's task error.
   */
  private distributedMapRunner(
    machineArn: string,
    record: ExecutionRecord,
    stateName: string,
    map: DistributedMapState,
    summary: (children: ExecutionRecord) => void,
    timing: (children: MapRunTiming) => void,
  ): TaskRunner {
    return async (input) => {
      // As for `.sync` tasks: let the parent's event reader reach this state first.
      await new Promise((resolve) => setImmediate(resolve));
      const outcome = await runDistributedMap(map, input, {
        machineArn,
        stateName,
        storage: this.options.storage,
        runChild: (executionArn, childInput) =>
          this.runMapChild(
            map.ItemProcessor,
            `${machineArn}/${map.Label ?? stateName}`,
            executionArn,
            childInput,
          ),
      });
      this.options.log?.(
        `[${record.stateMachine}] ${stateName}: ${outcome.children} child executions, ${outcome.failedItems} items failed`,
      );
      timing(outcome.timing);
      const { taskError: _own, ...parentFields } = record;
      summary({
        ...parentFields,
        states: outcome.states,
        ...(outcome.error && outcome.taskError ? { taskError: outcome.taskError } : {}),
      });
      if (outcome.error) throw outcome.error;
      return outcome.result;
    };
  }

  private taskRunner(stateName: string, resource: string, parent: ParentLink): TaskRunner {
    if (resource === START_EXECUTION) {
      return async (input) => {
        const { StateMachineArn, Input, Name } = startInput(input);
        // Started, not awaited, as in Step Functions; settle() waits for such executions.
        const record = this.startExecution(StateMachineArn, Input, Name);
        return { ExecutionArn: record.executionArn, StartDate: Date.parse(record.startedAt) };
      };
    }
    if (resource === START_EXECUTION_SYNC || resource === START_EXECUTION_SYNC2) {
      const parsed = resource === START_EXECUTION_SYNC2;
      return async (input) => {
        const { StateMachineArn, Input, Name } = startInput(input);
        // The parent's events are read asynchronously: let its reader reach this task state
        // before the child's events follow it.
        await new Promise((resolve) => setImmediate(resolve));
        const { done } = this.start(StateMachineArn, Input, {
          name: Name,
          // The child's states show in the parent's progress as they happen.
          onEvent: (e) => {
            if (e.type.startsWith('State')) parent.onEvent(e);
          },
          parent,
        });
        const child = await done;
        const description = describeExecution(child, parsed);
        if (child.status === 'SUCCEEDED') return description;
        const err = new Error(JSON.stringify(description));
        err.name = 'States.TaskFailed';
        throw err;
      };
    }
    return this.options.task(resource, stateName);
  }
}

/**
 * Notes a state's entry or end (StateExited, or StateFailed for a state that failed) in an
 * execution's timings, at the event's time; a distributed Map's children summary joins its entry
 * when it ends.
 */
function timeState(
  timings: StateTiming[],
  mapTimings: Map<string, MapRunTiming>,
  type: string,
  state: string,
  timestamp: number | undefined,
): void {
  const at = new Date(timestamp ?? Date.now()).toISOString();
  if (type === 'StateEntered') {
    timings.push({ state, enteredAt: at });
    return;
  }
  if (type !== 'StateExited' && type !== 'StateFailed') return;
  const open = timings.findLast((t) => t.state === state && t.exitedAt === undefined);
  if (!open) return;
  open.exitedAt = at;
  const map = mapTimings.get(state);
  if (map) {
    open.map = map;
    mapTimings.delete(state);
  }
}

/** StartExecution's parameters; `Input` may be JSON text or a JSON value, as Step Functions accepts. */
function startInput(input: unknown): { StateMachineArn: string; Input: unknown; Name?: string } {
  const { StateMachineArn, Input, Name } = (input ?? {}) as {
    StateMachineArn?: unknown;
    Input?: unknown;
    Name?: unknown;
  };
  if (typeof StateMachineArn !== 'string') {
    throw Object.assign(new Error('StartExecution needs a StateMachineArn (a string) in its Parameters'), {
      name: 'States.Runtime',
    });
  }
  return {
    StateMachineArn,
    Input: typeof Input === 'string' ? JSON.parse(Input) : (Input ?? {}),
    ...(typeof Name === 'string' ? { Name } : {}),
  };
}

/**
 * What a `.sync` task returns for a child execution (DescribeExecution's fields): Input and Output
 * as JSON text for `.sync`, as JSON values for `.sync:2`; dates in epoch milliseconds.
 */
export function describeExecution(child: ExecutionRecord, parsed: boolean): Record<string, unknown> {
  const json = (value: unknown) => (parsed ? value : JSON.stringify(value ?? null));
  return {
    ExecutionArn: child.executionArn,
    StateMachineArn: child.stateMachineArn,
    Name: child.executionArn.slice(child.executionArn.lastIndexOf(':') + 1),
    Status: child.status,
    StartDate: Date.parse(child.startedAt),
    StopDate: Date.parse(child.stoppedAt ?? child.startedAt),
    Input: json(child.input),
    InputDetails: { Included: true },
    ...(child.status === 'SUCCEEDED'
      ? { Output: json(child.output), OutputDetails: { Included: true } }
      : { Error: child.error ?? 'Error', Cause: child.cause ?? '' }),
  };
}
