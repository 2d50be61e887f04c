/**
 * A local stand-in for SageMaker real-time endpoints. SageMaker's control plane and runtime have no
 * local counterpart (no emulator ships with the SDK or with s3rver/dynalite), so the twin serves the
 * wire protocols of the operations the platform uses, on loopback, and the real AWS SDK v3 clients
 * talk to it through their `endpoint` setting:
 *   - the control plane ({@link SageMakerControlPlane}) speaks AWS JSON 1.1 for models, endpoint
 *     configurations and endpoints, whose Creating/Updating → InService (or Failed) life cycle,
 *     with a failed update rolling back, is the {@link EndpointLifecycle}'s;
 *   - the runtime ({@link SageMakerRuntime}) speaks REST JSON (`POST /endpoints/{name}/invocations`),
 *     routes by variant weight or TargetVariant, and scores the platform's CSV serving contract
 *     with the TypeScript XGBoost scorer instead of running the serving container;
 *   - the wire module ({@link SageMakerServer}) parses HTTP, routes to the two planes and writes
 *     each protocol's error shape.
 *
 * Not emulated: instances (counts are recorded, nothing is provisioned), autoscaling, data capture,
 * shadow variants, serverless and async inference, the real container code (a model's Image and
 * Environment are recorded only; the inference script never runs), IAM (roles are recorded,
 * requests are not authorised and signatures are not checked) and service quotas.
 */
import type { ObjectStore } from '../../core/ports.ts';
import { SageMakerControlPlane } from './control-plane.ts';
import { EndpointLifecycle } from './lifecycle.ts';
import {
  type EndpointDescription,
  SageMakerResources,
  type VariantFault,
  type VariantStats,
} from './resources.ts';
import { ModelLoader, SageMakerRuntime } from './runtime.ts';
import { SageMakerServer } from './wire.ts';

export type {
  EndpointDescription,
  EndpointStatus,
  VariantFault,
  VariantStats,
  VariantSummary,
} from './resources.ts';

export interface LocalSageMakerEndpointsProps {
  /** Opens the bucket that a model's `ModelDataUrl` (`s3://bucket/key`, a model.tar.gz) is in. */
  readonly getStore: (bucket: string) => ObjectStore;
  /**
   * How long Creating and Updating last before the endpoint is InService (at least as long as the
   * models take to load).
   * @default 20
   */
  readonly transitionMs?: number;
  /**
   * Draws the weighted choice of a production variant; pass a seeded generator for repeatable
   * traffic splits.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * SageMaker endpoints on loopback: one HTTP server answers both the control plane
 * (`@aws-sdk/client-sagemaker`) and the runtime (`@aws-sdk/client-sagemaker-runtime`).
 */
export class LocalSageMakerEndpoints {
  private readonly resources = new SageMakerResources();
  private readonly lifecycle: EndpointLifecycle;
  private readonly control: SageMakerControlPlane;
  private readonly runtime: SageMakerRuntime;
  private readonly server: SageMakerServer;

  constructor(props: LocalSageMakerEndpointsProps) {
    const transitionMs = props.transitionMs ?? 20;
    if (!Number.isFinite(transitionMs) || transitionMs < 0) {
      throw new Error(`transitionMs must be a number of milliseconds ≥ 0, got ${transitionMs}`);
    }
    const loader = new ModelLoader(this.resources, props.getStore);
    this.lifecycle = new EndpointLifecycle(
      this.resources,
      (config) => loader.loadVariants(config),
      transitionMs,
    );
    this.control = new SageMakerControlPlane(this.resources, this.lifecycle);
    this.runtime = new SageMakerRuntime(this.resources, props.random ?? Math.random);
    this.server = new SageMakerServer({
      operations: this.control.operations,
      invoke: (request) => this.runtime.invoke(request),
    });
  }

  /** Listens on a free loopback port and returns the URL to give the SDK clients as `endpoint`. */
  start(): Promise<string> {
    return this.server.start();
  }

  /** Stops listening, drops kept-alive SDK connections and cancels pending transitions. */
  async stop(): Promise<void> {
    this.lifecycle.stop();
    await this.server.stop();
  }

  /** Names of the endpoints that exist, in name order. */
  endpoints(): string[] {
    return [...this.resources.endpoints.values()].map((e) => e.name).sort();
  }

  /** The endpoint as DescribeEndpoint reports it. @throws Error when there is no such endpoint. */
  describe(endpointName: string): EndpointDescription {
    return this.control.describeEndpoint(this.resources.endpoint(endpointName));
  }

  /** Per-variant counters of an endpoint (copies), including variants that no longer serve. */
  variantStats(endpointName: string): Record<string, VariantStats> {
    return this.runtime.variantStats(this.resources.endpoint(endpointName));
  }

  /**
   * Makes one variant answer every invocation with a ModelError (a 500 from the container), or
   * clears that with `null`. The fault survives updates that keep the variant's name.
   */
  injectFault(endpointName: string, variantName: string, fault: VariantFault): void {
    this.runtime.injectFault(this.resources.endpoint(endpointName), variantName, fault);
  }
}
