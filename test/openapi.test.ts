import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOpenApiDocument, type OpenApiDocument, type OpenApiOperation } from '../src/http/openapi';
import { describe as describeRoute, documentSecurity, routeDocOf, type ValidationDoc } from '../src/http/route-docs';
import { validate } from '../src/http/validate';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';

let t: TestContext;
let doc: OpenApiDocument;
beforeAll(async () => {
  t = await createTestContext();
  const res = await t.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(() => t.close());

// Restated here rather than imported, so that a change in the builder cannot silently agree with itself.
const isMiddlewareOnly = (r: { method: string; path: string }) => r.method === 'ALL' || r.path.includes('*');
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{(?:[^{}]|\{[^{}]*\})*\})?\??/g, '{$1}');

function operationOf(method: string, honoPath: string): OpenApiOperation {
  const operation = doc.paths[toOpenApiPath(honoPath)]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${honoPath} is not in the document`);
  return operation;
}

function expectedSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  expect($schema).toBe('https://json-schema.org/draft/2020-12/schema');
  return rest;
}

/** The JSON Schema the document gives for one validation target of an operation. */
function documentedSchema(operation: OpenApiOperation, target: ValidationDoc['target']): Record<string, unknown> {
  if (target === 'json') return operation.requestBody!.content['application/json']!.schema;
  const location = target === 'param' ? 'path' : target;
  const parameters = (operation.parameters ?? []).filter((p) => p.in === location);
  return {
    type: 'object',
    properties: Object.fromEntries(
      parameters.map((p) => [p.name, p.description === undefined ? p.schema : { ...p.schema, description: p.description }]),
    ),
    required: parameters.filter((p) => p.required).map((p) => p.name),
  };
}

/**
 * A deliberately small JSON Schema check covering the keywords our schemas use. An unknown keyword
 * throws, so a schema it cannot judge fails the test instead of passing it.
 */
function matches(schema: Record<string, any>, value: unknown): boolean {
  const known = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'items', 'anyOf', 'default', 'description']);
  for (const key of Object.keys(schema)) if (!known.has(key)) throw new Error(`unsupported JSON Schema keyword ${key}`);
  if (schema.anyOf && !schema.anyOf.some((s: any) => matches(s, value))) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  if ('const' in schema && schema.const !== value) return false;
  const types = schema.type === undefined ? [] : [schema.type].flat();
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  if (types.length && !types.some((ty: string) => ty === typeOf(value) || (ty === 'number' && typeof value === 'number'))) return false;
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) return false;
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) return false;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return false;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return false;
    if (schema.maximum !== undefined && value > schema.maximum) return false;
  }
  if (Array.isArray(value) && schema.items) return value.every((item) => matches(schema.items, item));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if ((schema.required ?? []).some((k: string) => !(k in record))) return false;
    for (const [k, v] of Object.entries(record)) {
      const property = schema.properties?.[k];
      if (property) {
        if (!matches(property, v)) return false;
      } else if (schema.additionalProperties === false) return false;
    }
  }
  return true;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with the error shape and the three credential schemes', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error'] });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['basic', 'bearer', 'cookie']);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(doc.components.securitySchemes.cookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'session' });
  });

  it('lists every route the app serves', () => {
    const routes = t.app.routes.filter((r) => !isMiddlewareOnly(r));
    expect(routes.length).toBeGreaterThan(5);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    for (const route of routes) expect(documented).toContain(`${route.method} ${toOpenApiPath(route.path)}`);
    // and nothing else
    expect(new Set(documented)).toEqual(new Set(routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`)));
  });

  it('documents each request with exactly the zod schema the route validates with', () => {
    let checked = 0;
    for (const route of t.app.routes) {
      const meta = routeDocOf(route.handler);
      if (meta?.kind !== 'validation' || isMiddlewareOnly(route)) continue;
      const expected = expectedSchema(meta.schema);
      const documented = documentedSchema(operationOf(route.method, route.path), meta.target);
      if (meta.target === 'json') expect(documented).toEqual(expected);
      else {
        expect(documented.properties).toEqual(expected.properties);
        expect(new Set(documented.required as string[])).toEqual(new Set((expected.required as string[]) ?? []));
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it('accepts the requests a real sign-in sends, and they pass the validators too', async () => {
    const email = uniqueEmail();
    const verifyBody = { email: email.toUpperCase() };
    expect((await t.request('POST', '/auth/verify', { body: verifyBody })).status).toBe(202);
    const signInBody = { method: 'otp', email, token: t.lastCode(email) };
    const signedIn = await t.request('POST', '/auth/sessions', { body: signInBody });
    expect(signedIn.status).toBe(201);
    const other = await t.signIn();
    const revokeParam = { id: other.session.id };
    expect((await t.request('DELETE', `/auth/sessions/${revokeParam.id}`, { token: other.token })).status).toBe(204);

    const sent: [method: string, path: string, target: ValidationDoc['target'], value: unknown][] = [
      ['POST', '/auth/verify', 'json', verifyBody],
      ['POST', '/auth/sessions', 'json', signInBody],
      ['DELETE', '/auth/sessions/:id', 'param', revokeParam],
    ];
    for (const [method, path, target, value] of sent) {
      const documented = documentedSchema(operationOf(method, path), target);
      expect(matches(documented, value), `${method} ${path} ${target}`).toBe(true);
      const validators = t.app.routes
        .filter((r) => r.method === method && r.path === path)
        .map((r) => routeDocOf(r.handler))
        .filter((d): d is ValidationDoc => d?.kind === 'validation' && d.target === target);
      expect(validators).toHaveLength(1);
      expect(validators[0]!.schema.safeParse(value).success).toBe(true);
    }
    // The check can fail: requests the validators refuse are refused by the document too.
    const signIn = documentedSchema(operationOf('POST', '/auth/sessions'), 'json');
    expect(matches(signIn, { ...signInBody, method: 'password' })).toBe(false);
    expect(matches(signIn, { email, token: '123456' })).toBe(false);
    expect(matches(signIn, { ...signInBody, token: '' })).toBe(false);
  });

  it('documents credentials, path parameters and responses per operation', () => {
    const current = operationOf('GET', '/auth/sessions/current');
    expect(current.security).toEqual([{ bearer: [] }, { basic: [] }, { cookie: [] }]);
    expect(current.responses['200']).toBeDefined();
    expect(current.responses['401']).toBeDefined();
    const verify = operationOf('POST', '/auth/verify');
    expect(verify.security).toBeUndefined();
    expect(verify.summary).toMatch(/code/);
    expect(Object.keys(verify.responses)).toEqual(expect.arrayContaining(['202', '400', '429', 'default']));
    const revoke = doc.paths['/auth/sessions/{id}']!.delete!;
    expect(revoke.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents routes without describe(), guards applied with use(), and Hono path patterns', () => {
    const guard = documentSecurity<import('hono').MiddlewareHandler>(async (_c, next) => next(), ['bearer']);
    const guarded = new Hono().use('*', guard).get('/mine', (c) => c.text('ok'));
    const app = new Hono()
      .get('/plain/:id{[0-9]+}', (c) => c.text(c.req.param('id')))
      .post('/described', describeRoute({ summary: 'A described route', responses: { 201: 'Made.' } }), validate('query', z.object({ n: z.coerce.number().optional() })), (c) => c.text('ok', 201))
      .route('/guarded', guarded)
      .get('/token-only', describeRoute({ security: ['bearer'] }), (c) => c.text('ok'));
    const built = createOpenApiDocument(app.routes, { title: 'x', version: '1' });
    const plain = built.paths['/plain/{id}']!.get!;
    expect(plain.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(plain.responses['2XX']).toBeDefined();
    expect(plain.security).toBeUndefined();
    const described = built.paths['/described']!.post!;
    expect(described.summary).toBe('A described route');
    expect(described.parameters).toEqual([{ name: 'n', in: 'query', required: false, schema: expect.objectContaining({ type: 'number' }) }]);
    expect(described.responses['201']).toEqual({ description: 'Made.' });
    expect(built.paths['/guarded/mine']!.get!.security).toEqual([{ bearer: [] }]);
    expect(built.paths['/token-only']!.get!.security).toEqual([{ bearer: [] }]);
    expect(built.paths['/token-only']!.get!.responses['401']).toBeDefined();
  });

  it('serves the same document every time', async () => {
    const again = await t.request('GET', '/openapi.json');
    expect(again.body).toEqual(doc);
  });
});

describe('GET /docs', () => {
  it('is a self-contained HTML page of every operation', async () => {
    const res = await t.request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = res.body as string;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    for (const href of html.matchAll(/(?:href|src)="([^"]*)"/g)) expect(href[1]).toMatch(/^(#|\/openapi\.json$)/);
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(html).toContain(`<code>${path}</code>`);
      for (const op of Object.values(item)) expect(html).toContain(`id="${op.operationId}"`);
    }
  });
});
