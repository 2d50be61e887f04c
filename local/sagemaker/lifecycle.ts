/**
 * An endpoint's life cycle: CreateEndpoint goes Creating → InService (or Failed when a variant's
 * model cannot be loaded), UpdateEndpoint and UpdateEndpointWeightsAndCapacities go Updating →
 * InService, and a failed update is rolled back (the previous variants never stop serving). Each
 * change lasts at least `transitionMs`, and at least as long as its models take to load; a change
 * that finishes after a newer change, or after the endpoint was deleted, is dropped.
 */
import {
  type ConfigRecord,
  type DesiredVariant,
  desired,
  type EndpointRecord,
  type LiveVariant,
  type SageMakerResources,
} from './resources.ts';
import { validation } from './wire.ts';

/** Loads the models of a configuration's variants. */
export type LoadVariants = (config: ConfigRecord) => Promise<LiveVariant[]>;

export class EndpointLifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly resources: SageMakerResources,
    private readonly loadVariants: LoadVariants,
    private readonly transitionMs: number,
  ) {}

  /** Cancels pending transitions (the endpoints stay in the status they are in). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** SageMaker refuses to change an endpoint that is not InService. */
  requireInService(ep: EndpointRecord): void {
    if (ep.status !== 'InService') {
      throw validation(
        ep.status === 'Failed'
          ? `Cannot update failed endpoint "${ep.arn}"; delete it and create it again.`
          : `Cannot update in-progress endpoint "${ep.arn}"; wait until it is InService (it is ${ep.status}).`,
      );
    }
  }

  /** A new endpoint (status Creating) serves `config` once its models are loaded, or fails. */
  create(ep: EndpointRecord, config: ConfigRecord): void {
    ep.status = 'Creating';
    ep.pending = {
      kind: 'create',
      configName: config.name,
      variants: desired(config),
      startTime: ep.creationTime,
    };
    this.transition(ep, this.loadVariants(config), {
      applied: (variants) => {
        ep.live = variants;
        ep.status = 'InService';
      },
      failed: (reason) => {
        ep.status = 'Failed';
        ep.failureReason = reason;
      },
    });
  }

  /** Moves an InService endpoint to `config`; the old variants serve until the new ones are loaded. */
  update(ep: EndpointRecord, config: ConfigRecord): void {
    this.requireInService(ep);
    ep.status = 'Updating';
    ep.lastModifiedTime = new Date();
    ep.pending = {
      kind: 'config',
      configName: config.name,
      variants: desired(config),
      startTime: ep.lastModifiedTime,
    };
    this.transition(ep, this.loadVariants(config), {
      applied: (variants) => {
        ep.live = variants;
        ep.configName = config.name;
        ep.failureReason = undefined;
        ep.status = 'InService';
      },
      // SageMaker rolls a failed update back: the previous variants never stopped serving.
      failed: (reason) => {
        ep.failureReason = reason;
        ep.status = 'InService';
      },
    });
  }

  /** Changes the weights and instance counts of live variants (already checked to exist). */
  updateWeights(ep: EndpointRecord, variants: DesiredVariant[]): void {
    this.requireInService(ep);
    ep.status = 'Updating';
    ep.lastModifiedTime = new Date();
    ep.pending = { kind: 'weights', configName: ep.configName, variants, startTime: ep.lastModifiedTime };
    this.transition(ep, Promise.resolve(variants), {
      applied: (wanted) => {
        for (const v of ep.live) {
          const w = wanted.find((d) => d.name === v.name);
          if (w) {
            v.weight = w.weight;
            v.instanceCount = w.instanceCount;
          }
        }
        ep.status = 'InService';
      },
      failed: () => {
        ep.status = 'InService';
      },
    });
  }

  /** Drops whatever change is in progress (the endpoint is being deleted). */
  abandon(ep: EndpointRecord): void {
    ep.generation++;
  }

  /**
   * Finishes a change once `work` has settled and `transitionMs` has passed, unless the endpoint
   * changed again or was deleted meanwhile.
   */
  private transition<T>(
    ep: EndpointRecord,
    work: Promise<T>,
    on: { applied: (result: T) => void; failed: (reason: string) => void },
  ): void {
    const generation = ++ep.generation;
    const outcome = work.then(
      (value) => ({ ok: true as const, value }),
      (err: unknown) => ({ ok: false as const, reason: (err as Error).message }),
    );
    void Promise.all([outcome, this.delay(this.transitionMs)]).then(([result]) => {
      if (!this.resources.isCurrent(ep) || ep.generation !== generation) return;
      ep.pending = undefined;
      ep.lastModifiedTime = new Date();
      if (result.ok) on.applied(result.value);
      else on.failed(result.reason);
    });
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}
