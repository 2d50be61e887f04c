/** The {@link ModelRuntime} port on a SageMaker endpoint (serving mode `endpoint`). */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ModelRuntime } from '../../../../core/ports.ts';
import { endpointNames } from '../../../../core/serving/endpoint-names.ts';
import { variantName } from '../../../../core/serving/endpoint-plan.ts';
import { vectorsToCsv } from '../../../../core/serving/runtime.ts';

export class EndpointRuntime implements ModelRuntime {
  readonly mode = 'endpoint' as const;
  constructor(
    private readonly client: SageMakerRuntimeClient,
    private readonly prefix: string,
  ) {}

  async score(model: string, serving: { version: number }, vectors: readonly Float64Array[]) {
    const target = variantName(serving.version);
    const res = await this.client.send(
      new InvokeEndpointCommand({
        EndpointName: endpointNames.endpoint(this.prefix, model),
        TargetVariant: target,
        ContentType: 'text/csv',
        Accept: 'application/json',
        Body: new TextEncoder().encode(vectorsToCsv(vectors)),
      }),
    );
    const variant = res.InvokedProductionVariant ?? '';
    if (variant !== target) {
      throw new Error(`endpoint answered from variant "${variant}", not the requested ${target}`);
    }
    const body = JSON.parse(new TextDecoder().decode(res.Body)) as { scores?: unknown };
    const scores = body.scores;
    if (
      !Array.isArray(scores) ||
      scores.length !== vectors.length ||
      !scores.every((s) => typeof s === 'number' && s >= 0 && s <= 1)
    ) {
      throw new Error(
        `endpoint answered ${Array.isArray(scores) ? scores.length : 'no'} scores for ${vectors.length} rows`,
      );
    }
    return { scores: scores as number[], variant };
  }
}
