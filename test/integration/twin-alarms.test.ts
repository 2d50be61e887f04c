/**
 * The chain metric → alarm → rule → target, run by the twin from the templates synthesized with the
 * fast settings (60 s alarm periods, 1 of 1; drift every minute), in real time with a short
 * evaluation tick. The alarms and rules are found in the templates by type and property (the metric
 * they watch, the event they match, the target they start), not by logical id:
 * - real 5xx answers of the prediction API (no model in production yet) raise the API's 5xx alarm,
 *   which notifies the operators' topic with CloudWatch's message and puts its state change on the
 *   event bus, whose matching rules start their targets;
 * - a rule on an alarm's state change starts its state machine with the input its target renders
 *   (the alarm's state set as CloudWatch's SetAlarmState sets it);
 * - a rate schedule fires its function target one interval after the twin started. The fast
 *   settings make the drift schedules `rate(1 minute)`; the copy booted here sets the first rate
 *   schedule with a function target to that, so the test waits one minute whichever rule it is.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackOutputs } from '../../contracts/outputs.ts';
import type {
  Notification,
  TwinAlarm,
  TwinApiKey,
  TwinMonitoringSummary,
  TwinSchedule,
} from '../../contracts/twin-api.ts';
import type { PutEvent } from '../../local/events.ts';
import { LocalTwin } from '../../local/twin.ts';
import { sampleRows } from '../support/requests.ts';
import { serveTwin, synthesizeFast } from '../support/twin.ts';
import { until } from '../support/until.ts';

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Every resource of a type in the assembly's templates, by logical id, as synthesized. */
function templateResources(dir: string, type: string): [string, Resource][] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .flatMap((f) => {
      const t = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Resources: Record<string, Resource> };
      return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
    });
}

/** Sets the first rate schedule whose target is a function to `rate(1 minute)`; returns its logical id. */
function oneMinuteSchedule(dir: string): string {
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.template.json'))) {
    const file = join(dir, f);
    const t = JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, Resource> };
    for (const [id, r] of Object.entries(t.Resources)) {
      const targets = JSON.stringify(r.Properties?.Targets ?? []);
      const fnTarget = Object.keys(t.Resources).some(
        (fn) => t.Resources[fn]!.Type === 'AWS::Lambda::Function' && targets.includes(`"${fn}"`),
      );
      if (
        r.Type === 'AWS::Events::Rule' &&
        String(r.Properties?.ScheduleExpression).startsWith('rate(') &&
        fnTarget
      ) {
        r.Properties!.ScheduleExpression = 'rate(1 minute)';
        writeFileSync(file, JSON.stringify(t));
        return id;
      }
    }
  }
  throw new Error('The templates have no rate schedule with a function target');
}

describe('the twin evaluates the alarms and runs the rules and schedules of the templates', () => {
  let dir: string;
  let twin: LocalTwin;
  let server: Awaited<ReturnType<typeof serveTwin>>;
  let startedAt: number;
  let scheduleId: string;
  const get = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${server.url}${path}`)).json()) as T;
  const alarms = () => get<TwinAlarm[]>('/_twin/alarms');

  beforeAll(async () => {
    dir = await synthesizeFast();
    scheduleId = oneMinuteSchedule(dir);
    twin = new LocalTwin({ assemblyDir: dir, monitoring: true, alarmEvaluationMs: 250 });
    startedAt = Date.now();
    await twin.start();
    server = await serveTwin(twin);
  });
  afterAll(async () => {
    await server?.close();
    await twin?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists every alarm of the templates by its name, evaluated or said not to be, and what it emulates', async () => {
    const inTemplates = templateResources(dir, 'AWS::CloudWatch::Alarm');
    const listed = await alarms();
    const summary = await get<TwinMonitoringSummary>('/_twin/monitoring');

    expect(listed.map((a) => a.logicalId).sort()).toEqual(inTemplates.map(([id]) => id).sort());
    for (const [id, res] of inTemplates) {
      const alarm = listed.find((a) => a.logicalId === id)!;
      if (typeof res.Properties?.AlarmName === 'string') expect(alarm.name).toBe(res.Properties.AlarmName);
      if (alarm.notEmulated) expect(summary.alarms.notEmulated.map((n) => n.logicalId)).toContain(id);
      else expect(alarm.periodSeconds).toBeGreaterThan(0);
    }
    expect(summary.running).toBe(true);
    expect(
      [...summary.alarms.emulated, ...summary.alarms.notEmulated.map((n) => n.logicalId)].sort(),
    ).toEqual(inTemplates.map(([id]) => id).sort());
  });

  it("raises the API's 5xx alarm from real 5xx answers, notifies the operators with CloudWatch's message and puts the state change through the rules", async () => {
    const apiAlarms = (await alarms()).filter(
      (a) => a.metric.namespace === 'AWS/ApiGateway' && a.metric.name === '5XXError',
    );
    expect(apiAlarms.length, 'an alarm on the API stage 5XXError metric').toBeGreaterThan(0);
    const alarm = apiAlarms[0]!;
    expect(alarm.datapointsToAlarm, 'fast settings: 1 datapoint to alarm').toBe(1);
    // Every answer below is a 5xx: a Sum needs more of them than the threshold, a rate any number.
    const requests = alarm.metric.statistic === 'Sum' ? Math.ceil(alarm.threshold) + 1 : 5;
    const sentAt = Date.now();
    const [client] = await get<TwinApiKey[]>('/_twin/keys');

    for (let i = 0; i < requests; i++) {
      const res = await fetch(`${server.url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': client!.key },
        body: JSON.stringify({ instances: sampleRows(1) }),
      });
      expect(res.status).toBe(503);
    }
    await until(
      async () => (await alarms()).find((a) => a.name === alarm.name)?.state === 'ALARM',
      `${alarm.name} in ALARM`,
    );

    const now = (await alarms()).find((a) => a.name === alarm.name)!;
    expect(now.history.at(-1)).toMatchObject({ to: 'ALARM' });
    expect(now.reason).toMatch(/^Threshold Crossed: 1 out of the last 1 datapoint/);
    const operatorTopic = twin.resolver.output(stackOutputs.operatorTopicArn);
    // The alarm also notifies on OK (its first evaluation, with no 5xx yet, may have sent one).
    const notes = (await get<Notification[]>('/_twin/notifications')).filter(
      (n) =>
        JSON.parse(n.message).AlarmName === alarm.name && JSON.parse(n.message).NewStateValue === 'ALARM',
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      topicArn: operatorTopic,
      subject: `ALARM: "${alarm.name}" in US East (N. Virginia)`,
    });
    expect(JSON.parse(notes[0]!.message)).toMatchObject({
      NewStateValue: 'ALARM',
      NewStateReason: now.reason,
      Trigger: { MetricName: '5XXError', Namespace: 'AWS/ApiGateway', Period: alarm.periodSeconds },
    });
    const events = (await get<PutEvent[]>('/_twin/events')).filter(
      (e) => (e.event.detail as { alarmName: string }).alarmName === alarm.name,
    );
    const entered = events.find(
      (e) => (e.event.detail as { state: { value: string } }).state.value === 'ALARM',
    )!;
    expect(entered.event).toMatchObject({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      resources: [`arn:aws:cloudwatch:us-east-1:000000000000:alarm:${alarm.name}`],
    });
    // The rules this state change matched started their state machine targets.
    for (const ruleId of entered.matched) {
      const [, rule] = templateResources(dir, 'AWS::Events::Rule').find(([id]) => id === ruleId)!;
      for (const target of rule.Properties!.Targets as { Arn: unknown }[]) {
        const stack = twin.resolver.stacks.find((s) => ruleId in s.Resources)!;
        const arn = String(twin.resolver.resolve(target.Arn, stack));
        if (!arn.includes(':stateMachine:')) continue;
        expect(
          twin.executions.some((e) => e.stateMachineArn === arn && Date.parse(e.startedAt) >= sentAt),
        ).toBe(true);
      }
    }
  });

  it("starts a rule's state machine target on its alarm's state change, with the input the target renders", async () => {
    const alarmRules = templateResources(dir, 'AWS::Events::Rule').filter(([, r]) =>
      JSON.stringify(r.Properties?.EventPattern ?? {}).includes('CloudWatch Alarm State Change'),
    );
    const listed = await alarms();
    const machineArns = new Set(twin.executions.map((e) => e.stateMachineArn));
    for (const kind of ['training', 'promotion', 'rollback'] as const)
      machineArns.add(twin.stateMachineArn(kind));
    const candidates = alarmRules.flatMap(([id]) => {
      const stack = twin.resolver.stacks.find((s) => id in s.Resources)!;
      const props = twin.resolver.resolve(stack.Resources[id]!.Properties, stack) as {
        EventPattern: {
          resources?: string[];
          detail?: { alarmName?: unknown[]; state?: { value?: string[] } };
        };
        Targets: { Arn: string }[];
      };
      const target = props.Targets.find((t) => machineArns.has(t.Arn));
      const alarm = listed.find(
        (a) =>
          props.EventPattern.resources?.includes(
            `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${a.name}`,
          ) || props.EventPattern.detail?.alarmName?.includes(a.name),
      );
      return target && alarm && props.EventPattern.detail?.state?.value?.includes('ALARM')
        ? [{ rule: id, machineArn: target.Arn, alarm }]
        : [];
    });
    expect(candidates.length, 'a rule from an alarm entering ALARM to a state machine').toBeGreaterThan(0);
    const { machineArn, alarm } = candidates[0]!;
    const reason = 'testing the rule with SetAlarmState';
    if (alarm.state === 'ALARM') {
      await fetch(`${server.url}/_twin/alarms/state`, {
        method: 'POST',
        body: JSON.stringify({ name: alarm.name, state: 'OK', reason: 'reset' }),
      });
    }
    const setAt = Date.now();

    const res = await fetch(`${server.url}/_twin/alarms/state`, {
      method: 'POST',
      body: JSON.stringify({ name: alarm.name, state: 'ALARM', reason }),
    });

    expect(res.status).toBe(200);
    const runs = () =>
      twin.executions.filter(
        (e) =>
          e.stateMachineArn === machineArn &&
          Date.parse(e.startedAt) >= setAt &&
          JSON.stringify(e.input).includes(alarm.name),
      );
    await until(() => runs().length > 0, `an execution of ${machineArn} started by the rule`);
    expect(runs()).toHaveLength(1);
    expect(runs()[0]!.input).toMatchObject({ model: expect.any(String) });
    expect(
      twin.notifications.some(
        (n) => n.subject === `ALARM: "${alarm.name}" in US East (N. Virginia)` && Date.parse(n.at) >= setAt,
      ),
    ).toBe(true);
    await twin.settle();
    expect(runs()[0]!.status).not.toBe('RUNNING');
  });

  it('refuses a state that is not an alarm state, and an alarm it does not have', async () => {
    const name = (await alarms())[0]!.name;
    const bad = await fetch(`${server.url}/_twin/alarms/state`, {
      method: 'POST',
      body: JSON.stringify({ name, state: 'RED', reason: 'x' }),
    });
    const unknown = await fetch(`${server.url}/_twin/alarms/state`, {
      method: 'POST',
      body: JSON.stringify({ name: 'nobody', state: 'OK', reason: 'x' }),
    });

    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(
      /"state": OK \| ALARM \| INSUFFICIENT_DATA/,
    );
    expect(unknown.status).toBe(404);
  });

  it('fires a rate schedule one interval after the start, invoking its function target', async () => {
    const scheduled = templateResources(dir, 'AWS::Events::Rule').filter(
      ([, r]) => r.Properties?.ScheduleExpression,
    );
    const schedules = await get<TwinSchedule[]>('/_twin/schedules');
    expect(schedules.map((s) => s.logicalId).sort()).toEqual(scheduled.map(([id]) => id).sort());
    const rate = schedules.find((s) => s.logicalId === scheduleId);
    expect(rate).toMatchObject({ expression: 'rate(1 minute)', enabled: true });
    expect(Date.parse(rate!.nextAt!) - startedAt).toBeGreaterThanOrEqual(60_000);
    expect(Date.parse(rate!.nextAt!) - startedAt).toBeLessThan(70_000);
    const fn = rate!.targets!.find((t) => t.includes(':function:'))!;
    const invocations = () =>
      twin.metrics.values(
        { namespace: 'AWS/Lambda', name: 'Invocations', dimensions: { FunctionName: fn.split(':').at(-1)! } },
        0,
        Date.now() + 1,
      ).length;
    const before = invocations();

    await until(
      async () =>
        (await get<TwinSchedule[]>('/_twin/schedules')).find((s) => s.rule === rate!.rule)?.lastAt !==
        undefined,
      `${rate!.rule} to fire`,
      80_000,
    );
    await twin.settle();

    const fired = (await get<TwinSchedule[]>('/_twin/schedules')).find((s) => s.rule === rate!.rule)!;
    expect(Date.parse(fired.lastAt!)).toBeGreaterThanOrEqual(Date.parse(rate!.nextAt!));
    expect(Date.parse(fired.nextAt!)).toBeGreaterThan(Date.parse(fired.lastAt!));
    expect(invocations()).toBe(before + 1);
  });
});
