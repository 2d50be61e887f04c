/**
 * The model registry on DynamoDB. Versions are write-once, status moves only along allowed
 * transitions, and the production alias changes only by a conditional update on the version it
 * expects, so two racing promotions cannot both win. Every change writes an audit item.
 * Transactions are not used (the local DynamoDB lacks them); each write is individually conditional.
 * What must change together lives in one item: a move of the alias carries the statuses it sets
 * (the new production version's, the replaced one's) in the alias item itself, written in one
 * conditional write, and those statuses win over the version items' (which follow as copies).
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { errorNames, PlatformError } from '../../../../core/errors.ts';
import type { Clock, ModelRegistryPort } from '../../../../core/ports.ts';
import {
  type AliasMove,
  type AuditEvent,
  allowedTransitions,
  type CanaryState,
  canTransition,
  type EvidenceRecord,
  type GuardrailDecision,
  type ModelVersion,
  type ProductionAlias,
  type ShadowState,
  type VersionStatus,
} from '../../../../core/registry/model.ts';
import {
  ALIAS_SK,
  DynamoRegistryReader,
  registryPk,
  stripKeys,
  versionSk,
} from './dynamo-registry-reader.ts';

const COUNTER_SK = 'COUNTER';

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

export class DynamoModelRegistry extends DynamoRegistryReader implements ModelRegistryPort {
  constructor(
    db: DynamoDBDocumentClient,
    table: string,
    private readonly clock: Clock,
  ) {
    super(db, table);
  }

  /** Reserves the next version number for a model (1, 2, ...). */
  async allocateVersion(model: string): Promise<number> {
    const res = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: registryPk(model), sk: COUNTER_SK },
        UpdateExpression: 'ADD lastVersion :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(res.Attributes?.lastVersion);
  }

  /** Writes a new version; a version number is written once and never overwritten. */
  async putVersion(record: ModelVersion): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: registryPk(record.model), sk: versionSk(record.version), kind: 'version', ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) {
        throw new PlatformError(
          errorNames.invalidTransition,
          `Version ${record.version} of model "${record.model}" already exists; versions are write-once.`,
        );
      }
      throw err;
    }
    await this.audit({
      model: record.model,
      action: 'VersionRegistered',
      version: record.version,
      detail: {},
    });
  }

  /** The version, with the status the production alias holds for it when a move set one. */
  override async getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    const [item, alias] = await Promise.all([super.getVersion(model, version), this.getAlias(model)]);
    return item && withAliasStatus(item, alias);
  }

  async requireVersion(model: string, version: number): Promise<ModelVersion> {
    const v = await this.getVersion(model, version);
    if (!v)
      throw new PlatformError(errorNames.versionNotFound, `Model "${model}" has no version ${version}.`);
    return v;
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    const [items, alias] = await Promise.all([
      this.queryPrefix<ModelVersion>(model, 'VERSION#'),
      this.getAlias(model),
    ]);
    return items.map((v) => withAliasStatus(v, alias));
  }

  /** Every item of a model's partition whose sort key starts with `prefix`, in key order (all pages). */
  private async queryPrefix<T>(model: string, prefix: string): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': registryPk(model), ':prefix': prefix },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of res.Items ?? []) items.push(stripKeys<T>(item));
      start = res.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Moves a version to `to`, only from a status that allows it, and only if the status is still
   * the one read (so a concurrent change is not overwritten).
   */
  async transition(
    model: string,
    version: number,
    to: VersionStatus,
    extra: { decision?: GuardrailDecision; reason?: string } = {},
  ): Promise<ModelVersion> {
    const current = await this.requireVersion(model, version);
    if (!canTransition(current.status, to)) {
      throw new PlatformError(
        errorNames.invalidTransition,
        `Model "${model}" version ${version} is ${current.status}; it cannot become ${to} (allowed: ${
          allowedTransitions[current.status].join(', ') || 'none'
        }).`,
      );
    }
    const held = (await this.getAlias(model))?.statuses?.[String(version)] !== undefined;
    // A status a move of the alias set is changed where it is held, on the same condition.
    if (
      held &&
      !(await this.updateAliasIf(model, {
        set: 'SET statuses.#version = :to',
        condition: 'statuses.#version = :from',
        names: { '#version': String(version) },
        values: { ':to': to, ':from': current.status },
      }))
    ) {
      throw new PlatformError(
        errorNames.invalidTransition,
        `Model "${model}" version ${version} changed status while moving to ${to}; retry.`,
      );
    }
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':to': to, ...(held ? {} : { ':from': current.status }) };
    let update = 'SET #status = :to';
    if (extra.decision) {
      update += ', decision = :decision';
      values[':decision'] = extra.decision;
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: registryPk(model), sk: versionSk(version) },
          UpdateExpression: update,
          ...(held ? {} : { ConditionExpression: '#status = :from' }),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) {
        throw new PlatformError(
          errorNames.invalidTransition,
          `Model "${model}" version ${version} changed status while moving to ${to}; retry.`,
        );
      }
      throw err;
    }
    await this.audit({
      model,
      action: 'StatusChanged',
      version,
      detail: { from: current.status, to, ...(extra.reason ? { reason: extra.reason } : {}) },
    });
    return { ...current, status: to, ...(extra.decision ? { decision: extra.decision } : {}) };
  }

  /**
   * Points the production alias at `next`, only if it still points at `expected` (undefined: no
   * alias yet) and has not moved since it was read. The statuses the move sets go in the same
   * write, each checked against the allowed transitions first. Of two racing moves exactly one
   * succeeds; the other gets AliasConflict.
   */
  async moveAlias(model: string, expected: number | undefined, next: AliasMove): Promise<ProductionAlias> {
    const { restored, statuses: changes = [], ...moved } = next;
    const before = await this.getAlias(model);
    const conflict = () =>
      new PlatformError(
        errorNames.aliasConflict,
        `The production alias of "${model}" changed while it was being moved (expected ${
          expected === undefined ? 'no alias' : `version ${expected}`
        }); another promotion or rollback won. Check \`mlops models\` and retry.`,
      );
    if (before?.current !== expected) throw conflict();
    const froms = await Promise.all(
      changes.map(
        async (c) =>
          before?.statuses?.[String(c.version)] ?? (await this.requireVersion(model, c.version)).status,
      ),
    );
    changes.forEach((c, i) => {
      if (!canTransition(froms[i]!, c.to)) {
        throw new PlatformError(
          errorNames.invalidTransition,
          `Model "${model}" version ${c.version} is ${froms[i]}; it cannot become ${c.to} (allowed: ${
            allowedTransitions[froms[i]!].join(', ') || 'none'
          }).`,
        );
      }
    });
    const at = this.clock.now().toISOString();
    const statuses: Record<string, VersionStatus> = { ...before?.statuses };
    for (const c of changes) statuses[String(c.version)] = c.to;
    const moves = (before?.moves ?? 0) + 1;
    // The item is replaced whole, so the previous version's promotedAt/restoredAt goes with it.
    const alias: ProductionAlias = {
      model,
      ...moved,
      updatedAt: at,
      ...(restored ? { restoredAt: at } : { promotedAt: at }),
      statuses,
      moves,
    };
    const condition =
      before === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : before.moves === undefined
          ? {
              ConditionExpression: '#current = :expected AND attribute_not_exists(moves)',
              ExpressionAttributeNames: { '#current': 'current' },
              ExpressionAttributeValues: { ':expected': expected },
            }
          : {
              ConditionExpression: 'moves = :moves',
              ExpressionAttributeValues: { ':moves': before.moves },
            };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: registryPk(model), sk: ALIAS_SK, kind: 'alias', ...alias },
          ...condition,
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw conflict();
      throw err;
    }
    await this.audit({
      model,
      action: 'AliasMoved',
      version: next.current,
      detail: {
        from: expected ?? null,
        to: next.current,
        move: moves,
        ...(next.reason ? { reason: next.reason } : {}),
        ...(restored ? { restored: true } : {}),
      },
    });
    // The version items follow as copies, for readers of a single version (the predict function).
    for (const [i, c] of changes.entries()) {
      await this.db
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: registryPk(model), sk: versionSk(c.version) },
            UpdateExpression: 'SET #status = :to, statusMove = :move',
            // A later move's copy, written first, is not overwritten by this one's.
            ConditionExpression: 'attribute_not_exists(statusMove) OR statusMove < :move',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':to': c.to, ':move': moves },
          }),
        )
        .catch((err: unknown) => {
          if (!isConditionFailure(err)) throw err;
        });
      await this.audit({
        model,
        action: 'StatusChanged',
        version: c.version,
        detail: { from: froms[i], to: c.to, move: moves, ...(c.reason ? { reason: c.reason } : {}) },
      });
    }
    return alias;
  }

  /**
   * Records a guardrail decision with its evidence, once: the item can never be overwritten, so
   * the reasons a version was promoted or refused stay as they were decided.
   */
  async putEvidence(record: EvidenceRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: registryPk(record.model),
          sk: `EVIDENCE#${String(record.version).padStart(10, '0')}#${record.decidedAt}`,
          kind: 'evidence',
          ...record,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.audit({
      model: record.model,
      action: 'GuardrailDecision',
      version: record.version,
      detail: { approved: record.approved, evidenceKey: record.evidenceKey },
    });
  }

  async listEvidence(model: string, version: number): Promise<EvidenceRecord[]> {
    return this.queryPrefix<EvidenceRecord>(model, `EVIDENCE#${String(version).padStart(10, '0')}#`);
  }

  /** A conditional update of the production alias item: its new attributes, or undefined when the condition failed. */
  private async updateAliasIf(
    model: string,
    update: {
      set: string;
      condition: string;
      values: Record<string, unknown>;
      names?: Record<string, string>;
    },
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: registryPk(model), sk: ALIAS_SK },
          UpdateExpression: update.set,
          ConditionExpression: update.condition,
          ExpressionAttributeValues: update.values,
          ...(update.names ? { ExpressionAttributeNames: update.names } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return res.Attributes ?? {};
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /** Production is `expected`, and no canary or shadow runs beside it. */
  private static readonly quietBeside =
    '#current = :expected AND attribute_not_exists(canary) AND attribute_not_exists(shadow)';

  /** Starts a canary beside production `expectedCurrent`; refused if production moved, or a canary or shadow runs. */
  async startCanary(
    model: string,
    expectedCurrent: number,
    canary: Omit<CanaryState, 'startedAt'>,
  ): Promise<CanaryState> {
    const state: CanaryState = { ...canary, startedAt: this.clock.now().toISOString() };
    const done = await this.updateAliasIf(model, {
      set: 'SET canary = :canary',
      condition: DynamoModelRegistry.quietBeside,
      names: { '#current': 'current' },
      values: { ':canary': state, ':expected': expectedCurrent },
    });
    if (!done) {
      throw new PlatformError(
        errorNames.aliasConflict,
        `Cannot start a canary of "${model}" v${canary.version}: production is no longer v${expectedCurrent}, or another canary is running.`,
      );
    }
    await this.audit({
      model,
      action: 'CanaryStarted',
      version: canary.version,
      detail: { weight: canary.weight, beside: expectedCurrent },
    });
    return state;
  }

  /** Ends the canary of `version`, if it is still the one running. */
  async endCanary(model: string, version: number, reason: string): Promise<void> {
    const done = await this.updateAliasIf(model, {
      set: 'REMOVE canary',
      condition: 'canary.version = :version',
      values: { ':version': version },
    });
    if (done) await this.audit({ model, action: 'CanaryEnded', version, detail: { reason } });
  }

  /** Raises the running canary's share of traffic (a linear step); refused if it is no longer running. */
  async setCanaryWeight(model: string, version: number, weight: number): Promise<CanaryState> {
    const alias = await this.updateAliasIf(model, {
      set: 'SET canary.weight = :weight',
      condition: 'canary.version = :version',
      values: { ':version': version, ':weight': weight },
    });
    if (!alias) {
      throw new PlatformError(
        errorNames.aliasConflict,
        `Cannot step the canary of "${model}" v${version}: it is no longer running.`,
      );
    }
    await this.audit({ model, action: 'CanaryStepped', version, detail: { weight } });
    return (alias as unknown as ProductionAlias).canary!;
  }

  /** Starts a shadow of `version` beside production `expectedCurrent`; refused if production moved, or a shadow or canary runs. */
  async startShadow(model: string, expectedCurrent: number, version: number): Promise<ShadowState> {
    const state: ShadowState = { version, startedAt: this.clock.now().toISOString() };
    const done = await this.updateAliasIf(model, {
      set: 'SET shadow = :shadow',
      condition: DynamoModelRegistry.quietBeside,
      names: { '#current': 'current' },
      values: { ':shadow': state, ':expected': expectedCurrent },
    });
    if (!done) {
      throw new PlatformError(
        errorNames.aliasConflict,
        `Cannot start a shadow of "${model}" v${version}: production is no longer v${expectedCurrent}, or another shadow or canary is running.`,
      );
    }
    await this.audit({ model, action: 'ShadowStarted', version, detail: { beside: expectedCurrent } });
    return state;
  }

  /** Ends the shadow of `version` (if it is still the one running) and records its report. */
  async endShadow(model: string, version: number, report: Record<string, unknown>): Promise<void> {
    await this.updateAliasIf(model, {
      set: 'REMOVE shadow',
      condition: 'shadow.version = :version',
      values: { ':version': version },
    });
    await this.audit({ model, action: 'ShadowEnded', version, detail: report });
  }

  async audit(event: Omit<AuditEvent, 'at'>): Promise<void> {
    const at = this.clock.now().toISOString();
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: registryPk(event.model), sk: `AUDIT#${at}#${randomUUID()}`, kind: 'audit', at, ...event },
      }),
    );
  }

  /** Every audit event of a model, oldest first. */
  async listAudit(model: string): Promise<AuditEvent[]> {
    return this.queryPrefix<AuditEvent>(model, 'AUDIT#');
  }
}

/** The version with the status the alias holds for it, if a move of the alias set one. */
function withAliasStatus(version: ModelVersion, alias: ProductionAlias | undefined): ModelVersion {
  const status = alias?.statuses?.[String(version.version)];
  return status === undefined || status === version.status ? version : { ...version, status };
}
