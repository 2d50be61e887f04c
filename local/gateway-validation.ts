/**
 * API Gateway's routing and request validation for the twin's prediction API, read from the
 * synthesized templates rather than declared again: the `AWS::ApiGateway::Resource` tree gives the
 * route (literal path parts before a `{param}` one, as API Gateway matches), the
 * `AWS::ApiGateway::Method`'s `RequestValidatorId` and `RequestModels` say whether and against which
 * `AWS::ApiGateway::Model` schema a body is validated (JSON Schema draft 4, with ajv), and the
 * `AWS::ApiGateway::GatewayResponse` of type BAD_REQUEST_BODY how a refusal is answered, its
 * template's `$context` variables substituted.
 *
 * Emulated: body validation for a content type that has a request model (`$default` as the
 * fallback; no Content-Type header counts as `application/json`, as API Gateway assumes); a body
 * that is not JSON is refused like one the schema refuses. Not emulated, because the templates do
 * not configure them or the function answers them already: API Gateway's 403 for a path or method
 * with no resource (the twin answers 404 for a path no method serves, and lets the function answer
 * a method its resource does not declare with 405), its 413 over 10 MB (the twin's
 * server refuses over 6 MB, Lambda's payload limit), the 415 of a non-proxy integration whose
 * passthrough behaviour is NEVER (the API's integrations are Lambda proxies, which have none), and
 * request parameter validation (the only required parameter is a path part, present whenever the
 * route matches). ajv validates the value JSON.parse gives: a number token beyond a double's range
 * (1e999) arrives as Infinity and one below it (1e-400) as 0, where API Gateway compares the
 * decimal; the schema's bounds refuse the former either way.
 */
import ajvDraft04, { type ErrorObject, type ValidateFunction } from 'ajv-draft-04';
import type { Resolver, StackTemplate } from './template.ts';

/** What a route resolves to: the resource template (as in the proxy event's `resource`) and its path parameters. */
export interface GatewayRoute {
  resource: string;
  pathParameters: Record<string, string> | null;
}

/** A request the API serves: its route and the function its method's Lambda proxy integration invokes. */
export interface GatewayTarget extends GatewayRoute {
  /** The ARN of the integration's function, as the twin names it. */
  functionArn: string;
}

/** One method of the API, as the templates declare it. */
export interface GatewayMethod {
  httpMethod: string;
  resource: string;
  /** The integration's function, for a Lambda proxy integration. */
  functionArn?: string;
  logicalId: string;
}

/** API Gateway's own answer to a request it refuses before the integration. */
export interface GatewayAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface GatewayRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
  requestId: string;
}

interface MethodConfig {
  /** Validators by media type (lower case), `$default` included; empty when the body is not validated. */
  models: Map<string, ValidateFunction>;
  functionArn?: string;
  logicalId: string;
}

interface ResourceNode {
  part: string;
  children: ResourceNode[];
  path: string;
  /** The resource's logical id (empty for the root). */
  logicalId: string;
  methods: Map<string, MethodConfig>;
}

interface BadRequestBodyResponse {
  statusCode: number;
  headers: Record<string, string>;
  template: string | undefined;
}

/** The `$context` variables a BAD_REQUEST_BODY template may use in the twin. */
const SUPPORTED_VARIABLES = new Set([
  '$context.error.validationErrorString',
  '$context.error.messageString',
  '$context.error.message',
  '$context.error.responseType',
  '$context.requestId',
]);

/** The package is CommonJS: its class is both the module and its `default`. */
const AjvDraft04 = ajvDraft04.default;

/** A new ajv for API Gateway's dialect: draft 4; unknown keywords ignored, as API Gateway does. */
export function draft04(): InstanceType<typeof AjvDraft04> {
  return new AjvDraft04({ strict: false, allErrors: false, verbose: true });
}

const refOf = (value: unknown): string | undefined =>
  value && typeof value === 'object' && 'Ref' in value ? String((value as { Ref: unknown }).Ref) : undefined;

const isRootRef = (value: unknown): boolean => {
  const att =
    value && typeof value === 'object' ? (value as Record<string, unknown>)['Fn::GetAtt'] : undefined;
  return Array.isArray(att) && att[1] === 'RootResourceId';
};

/** The errors of one validation as API Gateway's validationErrorString puts them: in brackets, comma-separated. */
export function validationErrorString(errors: readonly ErrorObject[] | null | undefined): string {
  const all = errors ?? [];
  // The branches of a failed anyOf are reported with it; its description says what would have matched.
  const anyOfs = all.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  const shown = all.filter(
    (e) => !anyOfs.some((p) => e.keyword !== 'anyOf' && e.schemaPath.startsWith(`${p}/`)),
  );
  const messages = shown.map((e) => {
    const at = e.instancePath === '' ? 'body' : e.instancePath.slice(1);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties':
        return `${at}: unknown field "${String(params.additionalProperty)}"`;
      case 'required':
        return `${at}: missing required field "${String(params.missingProperty)}"`;
      case 'anyOf': {
        const description = (e.parentSchema as { description?: string } | undefined)?.description;
        return `${at}: does not match ${description ? `"${description}"` : 'any allowed form'}`;
      }
      default:
        return `${at}: ${e.message ?? e.keyword}`;
    }
  });
  return `[${[...new Set(messages)].join(', ')}]`;
}

/** The function a Lambda integration's URI (`…/2015-03-31/functions/<function ARN>/invocations`) invokes. */
export function integrationFunctionArn(uri: unknown): string | undefined {
  return typeof uri === 'string' ? /\/functions\/(.+)\/invocations$/.exec(uri)?.[1] : undefined;
}

/** Escapes text for the inside of a JSON string, as API Gateway substitutes a variable into a quoted template value. */
const jsonText = (s: string): string => JSON.stringify(s).slice(1, -1);

/** The prediction API's routes, request models and BAD_REQUEST_BODY response, from the templates. */
export class GatewayValidation {
  private constructor(
    private readonly root: ResourceNode | undefined,
    private readonly badRequestBody: BadRequestBodyResponse,
    /** The name of the API's stage (`requestContext.stage`), where the templates give one. */
    readonly stageName?: string,
    private readonly used: { models: readonly string[]; validators: readonly string[] } = {
      models: [],
      validators: [],
    },
  ) {}

  /** The logical ids of the request models the methods validate bodies with. */
  modelIds(): string[] {
    return [...this.used.models];
  }

  /** The logical ids of the request validators the methods use. */
  validatorIds(): string[] {
    return [...this.used.validators];
  }

  /** Reads the REST API of the assembly (the first stack that has one); none: nothing routed or validated. */
  static fromResolver(resolver: Resolver): GatewayValidation {
    for (const stack of resolver.stacks) {
      const api = Object.entries(stack.Resources).find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi');
      if (api) return GatewayValidation.fromStack(resolver, stack);
    }
    return new GatewayValidation(undefined, { statusCode: 400, headers: {}, template: undefined });
  }

  private static fromStack(resolver: Resolver, stack: StackTemplate): GatewayValidation {
    const ajv = draft04();
    const resources = stack.Resources;
    const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
    const root: ResourceNode = { part: '', children: [], path: '/', logicalId: '', methods: new Map() };
    const nodes = new Map<string, ResourceNode>();
    const nodeOf = (id: string): ResourceNode => {
      const known = nodes.get(id);
      if (known) return known;
      const props = resources[id]?.Properties ?? {};
      const parent = isRootRef(props.ParentId) ? root : nodeOf(refOf(props.ParentId) ?? '');
      const part = String(props.PathPart);
      const node: ResourceNode = {
        part,
        children: [],
        path: `${parent.path === '/' ? '' : parent.path}/${part}`,
        logicalId: id,
        methods: new Map(),
      };
      parent.children.push(node);
      nodes.set(id, node);
      return node;
    };
    for (const [id] of ofType('AWS::ApiGateway::Resource')) nodeOf(id);

    const compiled = new Map<string, ValidateFunction>();
    const validators = new Set<string>();
    const modelValidator = (id: string): ValidateFunction => {
      let v: ValidateFunction | undefined = compiled.get(id);
      if (!v) {
        const schema = resolver.resolve(resources[id]?.Properties?.Schema, stack);
        if (!schema || typeof schema !== 'object')
          throw new Error(`API Gateway model ${id} in ${stack.stackName} has no schema the twin can read`);
        v = ajv.compile(schema as Record<string, unknown>);
        compiled.set(id, v);
      }
      return v;
    };
    for (const [logicalId, method] of ofType('AWS::ApiGateway::Method')) {
      const props = method.Properties ?? {};
      const node = isRootRef(props.ResourceId) ? root : nodes.get(refOf(props.ResourceId) ?? '');
      if (!node) continue;
      const validatorId = refOf(props.RequestValidatorId);
      const validatesBody = validatorId
        ? resources[validatorId]?.Properties?.ValidateRequestBody === true
        : false;
      const models = new Map<string, ValidateFunction>();
      if (validatorId && resources[validatorId]) validators.add(validatorId);
      if (validatesBody) {
        for (const [type, model] of Object.entries((props.RequestModels ?? {}) as Record<string, unknown>)) {
          const modelId = refOf(model);
          if (modelId) models.set(type.toLowerCase(), modelValidator(modelId));
        }
      }
      const integration = (props.Integration ?? {}) as { Type?: unknown; Uri?: unknown };
      const functionArn =
        integration.Type === 'AWS_PROXY'
          ? integrationFunctionArn(resolver.resolve(integration.Uri, stack))
          : undefined;
      node.methods.set(String(props.HttpMethod).toUpperCase(), {
        models,
        logicalId,
        ...(functionArn ? { functionArn } : {}),
      });
    }

    const response = ofType('AWS::ApiGateway::GatewayResponse')
      .map(([, r]) => resolver.resolve(r.Properties ?? {}, stack) as Record<string, unknown>)
      .find((p) => p.ResponseType === 'BAD_REQUEST_BODY');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((response?.ResponseParameters ?? {}) as Record<string, string>)) {
      const name = /^gatewayresponse\.header\.(.+)$/.exec(k)?.[1];
      if (name) headers[name.toLowerCase()] = String(v).replace(/^'(.*)'$/, '$1');
    }
    const templates = (response?.ResponseTemplates ?? {}) as Record<string, string>;
    const template = templates['application/json'] ?? Object.values(templates)[0];
    for (const variable of template?.match(/\$[a-zA-Z][\w.]*/g) ?? []) {
      if (!SUPPORTED_VARIABLES.has(variable))
        throw new Error(`The twin cannot render ${variable} in the BAD_REQUEST_BODY gateway response`);
    }
    const stage = ofType('AWS::ApiGateway::Stage')[0];
    return new GatewayValidation(
      root,
      { statusCode: Number(response?.StatusCode ?? 400), headers, template },
      stage ? resolver.ref(stack, stage[0]) : undefined,
      { models: [...compiled.keys()], validators: [...validators] },
    );
  }

  /** Every method of the API, by resource path. */
  methods(): GatewayMethod[] {
    const out: GatewayMethod[] = [];
    const visit = (node: ResourceNode) => {
      for (const [httpMethod, m] of node.methods) {
        out.push({
          httpMethod,
          resource: node.path,
          logicalId: m.logicalId,
          ...(m.functionArn ? { functionArn: m.functionArn } : {}),
        });
      }
      for (const child of node.children) visit(child);
    };
    if (this.root) visit(this.root);
    return out.sort(
      (a, b) => a.resource.localeCompare(b.resource) || a.httpMethod.localeCompare(b.httpMethod),
    );
  }

  /** The requests the API serves, as `<method> <resource path>` (`POST /v1/models/{model}/predict`). */
  served(): string[] {
    return this.methods()
      .filter((m) => m.functionArn !== undefined)
      .map((m) => `${m.httpMethod} ${m.resource}`);
  }

  /** The logical ids of the API's resources (the `AWS::ApiGateway::Resource` tree) the routes are read from. */
  resourceIds(): string[] {
    const out: string[] = [];
    const visit = (node: ResourceNode) => {
      if (node.logicalId) out.push(node.logicalId);
      for (const child of node.children) visit(child);
    };
    if (this.root) visit(this.root);
    return out;
  }

  /**
   * The function a request goes to: the method's integration at the resource the path reaches, or
   * undefined when the path reaches no resource with a method (API Gateway refuses those). A method
   * the resource does not declare goes to the function of the resource's other methods, which
   * answers it (the predict function's 405), where API Gateway would refuse it before any function.
   */
  target(httpMethod: string, path: string): GatewayTarget | undefined {
    const route = this.route(path);
    if (!route) return undefined;
    const node = this.nodeAt(route.resource);
    const methods = node?.methods;
    if (!methods || methods.size === 0) return undefined;
    const method = methods.get(httpMethod.toUpperCase()) ?? methods.get('ANY');
    const functionArn = method
      ? method.functionArn
      : [...methods.values()].find((m) => m.functionArn !== undefined)?.functionArn;
    if (!functionArn) return undefined;
    return { ...route, functionArn };
  }

  /** The resource a request path reaches, literal parts preferred, or undefined when none does. */
  route(path: string): GatewayRoute | undefined {
    if (!this.root) return undefined;
    const parts = path.split('/').filter((p) => p !== '');
    const params: Record<string, string> = {};
    const walk = (node: ResourceNode, i: number): ResourceNode | undefined => {
      if (i === parts.length) return node;
      const part = parts[i]!;
      const literal = node.children.find((c) => c.part === part);
      const found = literal && walk(literal, i + 1);
      if (found) return found;
      const param = node.children.find((c) => /^\{[^+}]+\}$/.test(c.part));
      if (!param) return undefined;
      const hit = walk(param, i + 1);
      if (hit) params[param.part.slice(1, -1)] = decodeURIComponent(part);
      return hit;
    };
    const node = walk(this.root, 0);
    if (!node) return undefined;
    return { resource: node.path, pathParameters: Object.keys(params).length > 0 ? params : null };
  }

  /**
   * API Gateway's answer when it refuses the request's body before the integration, or undefined
   * when the request goes on to the function.
   */
  validate(req: GatewayRequest): GatewayAnswer | undefined {
    const route = this.route(req.path);
    if (!route) return undefined;
    const node = this.nodeAt(route.resource);
    const method = node?.methods.get(req.method.toUpperCase()) ?? node?.methods.get('ANY');
    if (!method) return undefined;
    const contentType = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
    const mediaType = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    const validator = method.models.get(mediaType) ?? method.models.get('$default');
    if (!validator) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch (err) {
      return this.refuse(`[body: not valid JSON (${(err as Error).message})]`, req.requestId);
    }
    if (validator(body)) return undefined;
    return this.refuse(validationErrorString(validator.errors), req.requestId);
  }

  private nodeAt(path: string): ResourceNode | undefined {
    let node = this.root;
    for (const part of path.split('/').filter((p) => p !== ''))
      node = node?.children.find((c) => c.part === part);
    return node;
  }

  private refuse(validationError: string, requestId: string): GatewayAnswer {
    const { statusCode, headers, template } = this.badRequestBody;
    // API Gateway's default BAD_REQUEST_BODY body, where the API configures none.
    const body =
      template === undefined
        ? JSON.stringify({ message: 'Invalid request body' })
        : template.replace(/\$[a-zA-Z][\w.]*/g, (v) => {
            switch (v) {
              case '$context.error.validationErrorString':
                return jsonText(validationError);
              case '$context.error.messageString':
                return JSON.stringify('Invalid request body');
              case '$context.error.message':
                return jsonText('Invalid request body');
              case '$context.error.responseType':
                return 'BAD_REQUEST_BODY';
              default:
                return jsonText(requestId);
            }
          });
    return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body };
  }
}
