/**
 * Hands a shadow's copy of a request to the shadow function with an asynchronous invocation
 * (`InvocationType: Event`): Lambda queues the event and answers 202 at once, so the caller waits for
 * the hand-off, not for the scoring. The client gives up quickly (the answer waits for it) and the
 * caller counts a copy it could not hand off.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { ShadowCopy, ShadowHandOff } from '../../serving.ts';
import { type ClientTarget, clientConfig } from './client-config.ts';

export class LambdaShadowHandOff implements ShadowHandOff {
  constructor(
    private readonly client: Pick<LambdaClient, 'send'>,
    private readonly functionName: string,
  ) {}

  async handOff(copy: ShadowCopy): Promise<void> {
    const res = await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(copy)),
      }),
    );
    if (res.StatusCode !== 202) {
      throw new Error(`Lambda answered the shadow hand-off to ${this.functionName} with ${res.StatusCode}`);
    }
  }
}

/** A Lambda client for hand-offs: one retry, and at most 2 s per attempt. */
export function makeHandOffClient(target?: ClientTarget): LambdaClient {
  return new LambdaClient({
    ...clientConfig('lambda', target),
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
    maxAttempts: 2,
  });
}
