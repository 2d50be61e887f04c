/**
 * The platform's alarms as every deployable sees them: each kind's severity, what the alarm policy
 * does when it fires, and its runbook section; and the alarm names, which carry the stage, the
 * model and the kind so that the CLI, the twin and the rules can tell an alarm's kind from its name.
 * The monitoring construct builds the alarms from these entries; RUNBOOK.md has one section per kind.
 */

/** How urgent an alarm is. `page` wakes someone; `ticket` is looked at during working hours. */
export type AlarmSeverity = 'page' | 'ticket';

/**
 * What the alarm policy does when an alarm of a kind enters ALARM, beyond notifying the operators
 * (every alarm notifies):
 * - `rollback`: start the rollback state machine for the model; it rolls back only a version
 *   promoted within the model's guard window, to the last version that served healthily, and pages
 *   when there is none;
 * - `retrain`: start the training state machine for the model (one run per model at a time, by lease);
 * - `notify`: nothing more.
 */
export type AlarmAction = 'rollback' | 'retrain' | 'notify';

/** Every kind of alarm. `perModel` alarms exist once per model, the others once per stage. */
export const alarmKinds = {
  'prediction-drift': { severity: 'page', action: 'rollback', perModel: true, title: 'Prediction drift' },
  'feature-drift': { severity: 'ticket', action: 'retrain', perModel: true, title: 'Input (feature) drift' },
  'null-rate': { severity: 'ticket', action: 'retrain', perModel: true, title: 'Null-rate spike' },
  'server-errors': { severity: 'page', action: 'rollback', perModel: true, title: '5xx rate' },
  latency: { severity: 'page', action: 'rollback', perModel: true, title: 'p99 latency over budget' },
  'model-errors': { severity: 'page', action: 'rollback', perModel: true, title: 'Model errors' },
  'invalid-requests': {
    severity: 'ticket',
    action: 'notify',
    perModel: true,
    title: 'Invalid-request spike',
  },
  'no-traffic': { severity: 'ticket', action: 'notify', perModel: true, title: 'No traffic' },
  'feature-schema': {
    severity: 'page',
    action: 'notify',
    perModel: true,
    title: 'Feature-schema mismatch',
  },
  'log-write-failures': {
    severity: 'page',
    action: 'notify',
    perModel: true,
    title: 'Prediction-log write failures',
  },
  'training-failure': { severity: 'ticket', action: 'notify', perModel: false, title: 'Training failure' },
  'drift-job-errors': { severity: 'ticket', action: 'notify', perModel: false, title: 'Drift job failing' },
  'api-server-errors': { severity: 'page', action: 'notify', perModel: false, title: 'API 5xx' },
} as const satisfies Record<
  string,
  { severity: AlarmSeverity; action: AlarmAction; perModel: boolean; title: string }
>;

/** An alarm's kind. */
export type AlarmKind = keyof typeof alarmKinds;

/** The kinds whose alarm exists once per model. */
export const perModelAlarmKinds = (Object.keys(alarmKinds) as AlarmKind[]).filter(
  (k) => alarmKinds[k].perModel,
);

/** The kinds whose alarm exists once per stage. */
export const stageAlarmKinds = (Object.keys(alarmKinds) as AlarmKind[]).filter(
  (k) => !alarmKinds[k].perModel,
);

/**
 * An alarm's name: `mlops-<stage>-<model>--<kind>` for a model's alarm, `mlops-<stage>--<kind>` for a
 * stage's. The `--` separates the kind (stage and model names hold no `--`).
 */
export function alarmName(stage: string, kind: AlarmKind, model?: string): string {
  if (alarmKinds[kind].perModel !== (model !== undefined)) {
    throw new Error(
      `Alarm kind "${kind}" is ${alarmKinds[kind].perModel ? 'per model: give the model' : 'per stage: give no model'}`,
    );
  }
  return model === undefined ? `mlops-${stage}--${kind}` : `mlops-${stage}-${model}--${kind}`;
}

/** The stage, model and kind an alarm name carries; undefined for a name the platform did not give. */
export function parseAlarmName(name: string, stage: string): { kind: AlarmKind; model?: string } | undefined {
  const prefix = `mlops-${stage}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  // A stage's alarm leaves `-<kind>` after the prefix; a model's `<model>--<kind>`.
  const cut = rest.startsWith('-') ? -1 : rest.lastIndexOf('--');
  if (cut < 0 && !rest.startsWith('-')) return undefined;
  const kind = cut < 0 ? rest.slice(1) : rest.slice(cut + 2);
  if (!Object.hasOwn(alarmKinds, kind)) return undefined;
  const model = cut < 0 ? '' : rest.slice(0, cut);
  const perModel = alarmKinds[kind as AlarmKind].perModel;
  if (perModel && model === '') return undefined;
  if (!perModel && model !== '') return undefined;
  return { kind: kind as AlarmKind, ...(perModel ? { model } : {}) };
}

/** The anchor of a kind's section in RUNBOOK.md. */
export function runbookAnchor(kind: AlarmKind): string {
  return kind;
}

/** The link to a kind's runbook section, under the stage's runbook URL (`RUNBOOK.md` by default). */
export function runbookLink(runbookUrl: string, kind: AlarmKind): string {
  return `${runbookUrl}#${runbookAnchor(kind)}`;
}
