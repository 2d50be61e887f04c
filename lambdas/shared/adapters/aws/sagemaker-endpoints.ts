/** The {@link EndpointControl} port on SageMaker's control plane. */
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type SageMakerClient,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import type { EndpointControl, EndpointState, ModelSpec, VariantSpec } from '../../../../core/ports.ts';

/** SageMaker answers a second create of a name with a ValidationException ("Cannot create already existing ..."). */
async function ignoreExisting(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e.name === 'ValidationException' && /already exist/i.test(e.message ?? '')) return;
    throw err;
  }
}

/** SageMaker answers a missing resource with a ValidationException whose message says so. */
function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return (
    e.name === 'ResourceNotFound' ||
    (e.name === 'ValidationException' && /could not find|not found|does not exist/i.test(e.message ?? ''))
  );
}

export class SageMakerEndpoints implements EndpointControl {
  constructor(private readonly client: SageMakerClient) {}

  async describe(endpoint: string): Promise<EndpointState | undefined> {
    try {
      const res = await this.client.send(new DescribeEndpointCommand({ EndpointName: endpoint }));
      return {
        status: (res.EndpointStatus ?? 'Failed') as EndpointState['status'],
        configName: res.EndpointConfigName ?? '',
        variants: (res.ProductionVariants ?? []).map((v) => ({
          name: v.VariantName ?? '',
          weight: v.CurrentWeight ?? 0,
          ...(v.DesiredWeight !== undefined ? { desiredWeight: v.DesiredWeight } : {}),
        })),
        ...(res.FailureReason ? { failureReason: res.FailureReason } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  // Models and configs are immutable and named by what they hold: creating one that exists is done.
  async ensureModel(spec: ModelSpec): Promise<void> {
    await ignoreExisting(
      this.client.send(
        new CreateModelCommand({
          ModelName: spec.name,
          ExecutionRoleArn: spec.executionRoleArn,
          PrimaryContainer: {
            Image: spec.image,
            ModelDataUrl: spec.modelDataUrl,
            Environment: spec.environment,
          },
        }),
      ),
    );
  }

  async ensureConfig(
    configName: string,
    variants: readonly VariantSpec[],
    instance: { type: string; count: number; kmsKeyId?: string },
  ): Promise<void> {
    await ignoreExisting(
      this.client.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: configName,
          ...(instance.kmsKeyId ? { KmsKeyId: instance.kmsKeyId } : {}),
          ProductionVariants: variants.map((v) => ({
            VariantName: v.variant,
            ModelName: v.modelName,
            InitialInstanceCount: instance.count,
            InstanceType: instance.type as never,
            InitialVariantWeight: v.weight,
          })),
        }),
      ),
    );
  }

  async createEndpoint(endpoint: string, configName: string): Promise<void> {
    await this.client.send(
      new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: configName }),
    );
  }

  async updateEndpoint(endpoint: string, configName: string): Promise<void> {
    await this.client.send(
      new UpdateEndpointCommand({
        EndpointName: endpoint,
        EndpointConfigName: configName,
        // The new config's weights take effect, not weights shifted on the old one.
        RetainAllVariantProperties: false,
      }),
    );
  }

  async updateWeights(
    endpoint: string,
    weights: readonly { variant: string; weight: number }[],
  ): Promise<void> {
    await this.client.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: endpoint,
        DesiredWeightsAndCapacities: weights.map((w) => ({
          VariantName: w.variant,
          DesiredWeight: w.weight,
        })),
      }),
    );
  }
}
