/**
 * The prediction request a model accepts, as a JSON Schema (draft 4, the dialect of API Gateway's
 * request models), generated from the model's definition: API Gateway validates bodies against it
 * before the predict function runs, and the function's own checks (lambdas/predict/request.ts) use
 * the constants below, so that the edge and the function refuse the same requests. A property test
 * holds the two to each other (test/unit/request-schema-agreement.test.ts).
 *
 * Only types are imported: the predict bundle takes its constants from here without the schema
 * library behind the definition's parser.
 */
import type { FeatureDef, FeatureSpec } from '../features/spec.ts';
import type { ModelDefinition } from '../model/definition.ts';

/**
 * The magnitudes a DynamoDB number holds (the prediction log stores every feature value as sent):
 * from 1E-130 up to 9.99…E+125, that is below 1E+126. Zero is a number too.
 */
export const LOG_MAGNITUDE_LIMIT = 1e126;
export const LOG_MIN_MAGNITUDE = 1e-130;

/**
 * A `log1p`-transformed feature is defined above -1 only (log1p(-1) is -Infinity); the bound is
 * exclusive.
 */
export const LOG1P_LOWER_BOUND = -1;

/**
 * The longest categorical value, in code points (JSON Schema's `maxLength` counts code points, not
 * UTF-16 units). A category is a label, not a document: 256 code points are at most 1 KiB of UTF-8,
 * so even a wide model's log row stays far below DynamoDB's 400 KB item limit.
 */
export const MAX_CATEGORY_LENGTH = 256;

/** The draft-4 meta-schema URI that API Gateway models declare. */
export const DRAFT4 = 'http://json-schema.org/draft-04/schema#';

/** A JSON Schema draft-4 document, as plain JSON. */
export type JsonSchema = { [key: string]: unknown };

function numericSchema(f: Extract<FeatureDef, { type: 'numeric' }>, nullable: boolean): JsonSchema {
  const log1p = f.transforms.includes('log1p');
  return {
    type: nullable ? ['number', 'null'] : 'number',
    description: `${f.name}: a number, 0 or of magnitude from ${LOG_MIN_MAGNITUDE} to below ${LOG_MAGNITUDE_LIMIT}${
      log1p ? `, above ${LOG1P_LOWER_BOUND} (it is log1p-transformed)` : ''
    }`,
    minimum: log1p ? LOG1P_LOWER_BOUND : -LOG_MAGNITUDE_LIMIT,
    exclusiveMinimum: true,
    maximum: LOG_MAGNITUDE_LIMIT,
    exclusiveMaximum: true,
    // Zero, or a magnitude the log can store: a non-zero number below 1E-130 would be logged as
    // something other than what was sent. Numeric keywords ignore null, so null passes every branch.
    anyOf: [{ minimum: 0, maximum: 0 }, { minimum: LOG_MIN_MAGNITUDE }, { maximum: -LOG_MIN_MAGNITUDE }],
  };
}

/** The schema of one feature's value. */
export function featureValueSchema(f: FeatureDef): JsonSchema {
  // A rejected missing value is required and non-null; native and imputed ones may be null or absent.
  const nullable = f.missing !== 'reject';
  switch (f.type) {
    case 'numeric':
      return numericSchema(f, nullable);
    case 'categorical':
      return {
        type: nullable ? ['string', 'null'] : 'string',
        description: `${f.name}: a category, at most ${MAX_CATEGORY_LENGTH} characters`,
        maxLength: MAX_CATEGORY_LENGTH,
      };
    case 'boolean':
      return { type: nullable ? ['boolean', 'null'] : 'boolean', description: `${f.name}: true or false` };
  }
}

/** The schema of one instance: the spec's features and nothing else, at least one of them given. */
export function instanceSchema(spec: FeatureSpec): JsonSchema {
  const required = spec.features.filter((f) => f.missing === 'reject').map((f) => f.name);
  return {
    type: 'object',
    description:
      'One instance: feature values by name, at least one of them given and not null; unknown fields are refused.',
    additionalProperties: false,
    properties: Object.fromEntries(spec.features.map((f) => [f.name, featureValueSchema(f)])),
    ...(required.length > 0 ? { required } : {}),
    // An instance with none of the model's features is a client's mistake, not an all-missing applicant.
    anyOf: spec.features.map((f) => ({
      required: [f.name],
      properties: { [f.name]: { not: { type: 'null' } } },
    })),
  };
}

/** The request model of a model's predict route: `{"instances": [...]}`, 1 to maxInstancesPerRequest. */
export function requestSchema(def: Pick<ModelDefinition, 'name' | 'spec' | 'serving'>): JsonSchema {
  return {
    $schema: DRAFT4,
    title: `${def.name} prediction request`,
    type: 'object',
    additionalProperties: false,
    required: ['instances'],
    properties: {
      instances: {
        type: 'array',
        minItems: 1,
        maxItems: def.serving.maxInstancesPerRequest,
        items: instanceSchema(def.spec),
      },
    },
  };
}
