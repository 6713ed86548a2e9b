import type { RouterRoute } from 'hono/types';
import { z } from 'zod';
import { routeDocOf, type OperationDoc, type RouteDoc, type SecurityScheme, type ValidationDoc } from './route-docs';

/*
 * The OpenAPI 3.1 document is built from the running app's route table: every route the app
 * serves is listed, and the request schemas are converted from the very zod schemas that
 * `validate()` checks requests against, so the document cannot drift from the validators.
 */

type JsonSchema = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: OpenApiInfo;
  jsonSchemaDialect: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, unknown>;
    securitySchemes: Record<SecurityScheme, Record<string, unknown>>;
  };
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

export interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  tags: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
  security?: Record<string, string[]>[];
  deprecated?: boolean;
}

/** The options request schemas are converted with: what a client may send, before zod's transforms. */
export const JSON_SCHEMA_OPTIONS = { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' } as const;

/** A zod schema as the JSON Schema embedded in the document (without the `$schema` line). */
export function requestJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema;
  return rest;
}

/** Hono's `/users/:id{[0-9]+}` as OpenAPI's `/users/{id}`, with the names of its path parameters. */
export function openApiPath(honoPath: string): { path: string; params: string[] } {
  const params: string[] = [];
  const segments = honoPath.split('/').map((segment) => {
    if (!segment.startsWith(':')) return segment;
    const name = /^:([^{?]+)/.exec(segment)?.[1] ?? segment.slice(1);
    params.push(name);
    return `{${name}}`;
  });
  const path = segments.join('/');
  return { path: path.length > 1 ? path.replace(/\/+$/, '') : path, params };
}

/** Entries of `app.routes` that answer requests, as opposed to `use()` middleware (method `ALL` or a `*` path). */
export function isOperationRoute(route: Pick<RouterRoute, 'method' | 'path'>): boolean {
  return route.method !== 'ALL' && !route.path.includes('*');
}

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description:
            'snake_case, e.g. invalid_request, unauthorized, forbidden, not_found, invalid_code, rate_limited, payload_too_large, unavailable',
        },
        message: { type: 'string', description: 'Human-readable explanation.' },
        issues: {
          type: 'array',
          description: 'With invalid_request: what failed validation.',
          items: {
            type: 'object',
            properties: { path: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } },
          },
        },
      },
    },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const SECURITY_SCHEMES: OpenApiDocument['components']['securitySchemes'] = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token from POST /auth/sessions (or, on identity routes, an identity token).',
  },
  basic: {
    type: 'http',
    scheme: 'basic',
    description: 'User name `token`, password the token: `Basic base64("token:" + token)`, for older SpacetimeDB clients.',
  },
  cookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'session',
    description:
      'The HttpOnly `session` cookie set by POST /auth/sessions. A state-changing request authenticated by it must come from an allowed Origin.',
  },
};

const STANDARD_RESPONSES: Record<string, string> = {
  '400': 'invalid_request: the input failed its schema (or another 400 code of this route).',
  '401': 'unauthorized: missing, malformed, expired or revoked credentials.',
  '403': 'forbidden: a cookie-authenticated state change from an origin that is not allowed, or a missing permission.',
  '413': 'payload_too_large: the body is over 64 KiB.',
  '429': 'rate_limited: see the Retry-After header (seconds).',
  '503': 'unavailable: the database cannot be reached.',
};

interface Operation {
  method: string;
  honoPath: string;
  docs: RouteDoc[];
}

/** Builds the OpenAPI 3.1 document of an app from its route table (`app.routes`). */
export function createOpenApiDocument(routes: readonly RouterRoute[], info: OpenApiInfo): OpenApiDocument {
  const operations = collectOperations(routes);
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  for (const operation of operations) {
    const { path, params } = openApiPath(operation.honoPath);
    const method = operation.method.toLowerCase();
    const built = buildOperation(operation, path, params);
    built.operationId = uniqueId(operationIds, built.operationId);
    (paths[path] ??= {})[method] = built;
  }
  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      responses: { Error: errorResponse('An error; every error has this shape.') },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

function collectOperations(routes: readonly RouterRoute[]): Operation[] {
  const byKey = new Map<string, Operation>();
  const scoped: { index: number; method: string; pattern: RegExp; doc: RouteDoc }[] = [];
  routes.forEach((route, index) => {
    const doc = routeDocOf(route.handler);
    if (!isOperationRoute(route)) {
      if (doc) scoped.push({ index, method: route.method, pattern: honoPattern(route.path), doc });
      return;
    }
    const key = `${route.method} ${route.path}`;
    let operation = byKey.get(key);
    if (!operation) {
      operation = { method: route.method, honoPath: route.path, docs: [] };
      // Middleware registered with `use()` before this route (an auth guard on a prefix) applies to it.
      for (const s of scoped) {
        if (s.index < index && (s.method === 'ALL' || s.method === route.method) && s.pattern.test(route.path)) {
          operation.docs.push(s.doc);
        }
      }
      byKey.set(key, operation);
    }
    if (doc) operation.docs.push(doc);
  });
  return [...byKey.values()];
}

function honoPattern(path: string): RegExp {
  const source = path
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+'))
    .join('.*');
  return new RegExp(`^${source.replace(/\/\.\*$/, '(?:/.*)?')}$`);
}

function buildOperation(operation: Operation, path: string, pathParams: string[]): OpenApiOperation {
  const validations = operation.docs.filter((d): d is ValidationDoc => d.kind === 'validation');
  const described = operation.docs.filter((d): d is OperationDoc => d.kind === 'operation');
  const info: Omit<OperationDoc, 'kind'> = Object.assign({}, ...described);
  const schemes = info.security ?? operation.docs.find((d) => d.kind === 'security')?.schemes;
  const security = schemes && schemes.length > 0 ? schemes : undefined;

  const parameters: OpenApiParameter[] = [];
  let requestBody: OpenApiOperation['requestBody'];
  for (const { target, schema } of validations) {
    const json = requestJsonSchema(schema);
    if (target === 'json') {
      requestBody = { required: true, content: { 'application/json': { schema: json } } };
    } else if (target === 'form') {
      requestBody = {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: json }, 'multipart/form-data': { schema: json } },
      };
    } else {
      parameters.push(...parametersOf(target === 'param' ? 'path' : target, json));
    }
  }
  for (const name of pathParams) {
    if (!parameters.some((p) => p.in === 'path' && p.name === name)) {
      parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
  }

  const responses: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(info.responses ?? {})) {
    const description = typeof doc === 'string' ? doc : doc.description;
    const schema = typeof doc === 'string' ? undefined : doc.schema;
    if (Number(status) >= 400) responses[status] = errorResponse(description);
    else responses[status] = schema ? { description, content: { 'application/json': { schema } } } : { description };
  }
  if (!Object.keys(responses).some((s) => s.startsWith('2') || s.startsWith('3'))) responses['2XX'] = { description: 'Success.' };
  const standard = [
    ...(validations.length > 0 || pathParams.length > 0 ? ['400'] : []),
    ...(security ? ['401'] : []),
    ...(validations.some((v) => v.target === 'json' || v.target === 'form') ? ['413'] : []),
  ];
  for (const status of standard) responses[status] ??= errorResponse(STANDARD_RESPONSES[status]!);
  responses.default = { $ref: '#/components/responses/Error' };

  return {
    operationId: operationIdOf(operation.method, path),
    ...(info.summary ? { summary: info.summary } : {}),
    ...(info.description ? { description: info.description } : {}),
    tags: info.tags ?? [defaultTag(path)],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
    ...(security ? { security: security.map((scheme) => ({ [scheme]: [] })) } : {}),
    ...(info.deprecated ? { deprecated: true } : {}),
  };
}

function parametersOf(location: OpenApiParameter['in'], schema: JsonSchema): OpenApiParameter[] {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (schema.type !== 'object' || !properties) {
    return [{ name: location, in: location, required: location === 'path', schema }];
  }
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property as JsonSchema & { description?: string };
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      schema: rest,
      ...(typeof description === 'string' ? { description } : {}),
    };
  });
}

/** `GET /auth/sessions/{id}` → `getAuthSessionsById`. */
function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith('{') ? `by-${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

function uniqueId(seen: Set<string>, id: string): string {
  let candidate = id;
  for (let n = 2; seen.has(candidate); n++) candidate = `${id}${n}`;
  seen.add(candidate);
  return candidate;
}

/** `/auth/sessions/…` → `auth/sessions`, `/v1/identity/…` → `v1/identity`, `/healthz` → `healthz`. */
function defaultTag(path: string): string {
  const segments = path.split('/').filter((s) => s && !s.startsWith('{'));
  if (segments.length === 0) return 'root';
  if (['auth', 'v1'].includes(segments[0]!) && segments[1]) return `${segments[0]}/${segments[1]}`;
  return segments[0]!;
}
