/**
 * Typed errors with stable names: Step Functions Retry/Catch match on `name`, and the API maps
 * them to status codes.
 */
export class PlatformError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export const errorNames = {
  invalidInput: 'InvalidInput',
  tooManyInvalidRows: 'TooManyInvalidRows',
  noRawData: 'NoRawData',
  versionNotFound: 'VersionNotFound',
  invalidTransition: 'InvalidStatusTransition',
  aliasConflict: 'AliasConflict',
  noPreviousVersion: 'NoPreviousVersion',
  unknownModel: 'UnknownModel',
  artifactInvalid: 'ArtifactInvalid',
  featureSchemaMismatch: 'FeatureSchemaMismatch',
  endpointFailed: 'EndpointFailed',
  endpointTimeout: 'EndpointTimeout',
  /** S3 could not be reached or could not serve (no answer, or a 5xx after retries). */
  lakeUnavailable: 'LakeUnavailable',
} as const;
