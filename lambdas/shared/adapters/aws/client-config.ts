/**
 * The configuration every platform SDK client is built with, for AWS and for the twin alike. On AWS a
 * client takes its region and credentials from the runtime; pointed at the twin it takes the twin's
 * loopback endpoint for its service (from `target.endpoints`, or `AWS_ENDPOINT_URL_<SERVICE>`, which
 * the twin sets for the functions it runs). S3 on loopback needs path-style addressing and checksums
 * only when required, or streamed bodies are stored with their chunk framing.
 *
 * Every client gives up on a connection that does not open within 5 s or a socket idle for 30 s,
 * so a stalled call is retried by the SDK instead of holding the function until its own timeout.
 */

export const httpTimeouts = { connectionTimeout: 5_000, requestTimeout: 30_000 } as const;

/** A service whose endpoint the twin emulates. */
export type ServiceName =
  | 's3'
  | 'dynamodb'
  | 'sagemaker'
  | 'sagemakerRuntime'
  | 'sfn'
  | 'cloudformation'
  | 'lambda';

const ENDPOINT_ENV: Record<ServiceName, string> = {
  s3: 'AWS_ENDPOINT_URL_S3',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  sagemaker: 'AWS_ENDPOINT_URL_SAGEMAKER',
  sagemakerRuntime: 'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
  sfn: 'AWS_ENDPOINT_URL_SFN',
  cloudformation: 'AWS_ENDPOINT_URL_CLOUDFORMATION',
  lambda: 'AWS_ENDPOINT_URL_LAMBDA',
};

/** Where clients connect. Empty: AWS, as the runtime's environment says. */
export interface ClientTarget {
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Endpoint per service (the twin's loopback URLs). */
  readonly endpoints?: Partial<Record<ServiceName, string>>;
}

/** The configuration every platform client is built with. */
export function clientConfig(service: ServiceName, target: ClientTarget = {}) {
  const endpoint = target.endpoints?.[service] ?? process.env[ENDPOINT_ENV[service]];
  return {
    requestHandler: httpTimeouts,
    ...(target.region ? { region: target.region } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && service === 's3'
      ? {
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  };
}
