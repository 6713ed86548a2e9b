import { createHash } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { findTargetHandler } from 'hono/utils/handler';
import { uniqueSymbol, type HandlerUniqueProperty } from 'hono-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, ORIGIN, uniqueEmail, type RequestOptions, type TestContext, type TestResponse } from './helpers/app';
import { SoftAuthenticator } from './helpers/webauthn';

type JsonSchema = Record<string, any>;
interface Operation {
  operationId: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema: JsonSchema; description?: string }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: JsonSchema }> }>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, Record<string, unknown>> };
}

const ADMIN = uniqueEmail('admin');
let t: TestContext;
let doc: Document;
beforeAll(async () => {
  t = await createTestContext({ ADMIN_EMAILS: ADMIN, ISSUER: 'https://auth.example.test/' });
  const res = await t.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(() => t.close());

// Restated here rather than imported, so that a change in the library cannot silently agree with itself.
const isMiddlewareOnly = (r: { method: string; path: string }) => r.method === 'ALL' || r.path.includes('*');
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{(?:[^{}]|\{[^{}]*\})*\})?\??/g, '{$1}');
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));

function operationOf(method: string, path: string): Operation {
  const operation = doc.paths[toOpenApiPath(path)]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${path} is not in the document`);
  return operation;
}

/** The validators on the app's route entries, as hono-openapi reads them. */
function validators() {
  return t.app.routes.flatMap((route) => {
    const meta = (findTargetHandler(route.handler) as { [uniqueSymbol]?: HandlerUniqueProperty })[uniqueSymbol];
    return meta && 'target' in meta && !isMiddlewareOnly(route) ? [{ route, meta }] : [];
  });
}

/** The JSON Schema the document gives for one request part (`json` body, or `path`/`query` parameters). */
function documentedRequest(operation: Operation, target: string): JsonSchema {
  if (target === 'json') return operation.requestBody!.content['application/json']!.schema;
  const location = target === 'param' ? 'path' : target;
  const parameters = (operation.parameters ?? []).filter((p) => p.in === location);
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((p) => [p.name, p.schema])),
    required: parameters.filter((p) => p.required).map((p) => p.name),
  };
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new Map<JsonSchema, ValidateFunction>();
/** Validates against a schema of the document, its `#/components/...` references included. */
function conforms(schema: JsonSchema, value: unknown): string | true {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile({ ...schema, components: doc.components })));
  return validate(value) || ajv.errorsText(validate.errors);
}

/** Every answer of the flows below: its status is documented and its body has the documented shape. */
const answered = new Set<string>();
async function call(method: string, template: string, options: RequestOptions & { params?: Record<string, string>; query?: string } = {}) {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(options.params![name]!));
  const res = await t.request(method, path + (options.query ?? ''), options);
  expectDocumented(method, template, res);
  return res;
}

function expectDocumented(method: string, template: string, res: TestResponse) {
  const where = `${method} ${template} → ${res.status}`;
  const response = operationOf(method, template).responses[String(res.status)];
  expect(response, `${where} is not documented: ${JSON.stringify(res.body)}`).toBeDefined();
  answered.add(`${method.toLowerCase()} ${template} ${res.status}`);
  const media = Object.keys(response!.content ?? {});
  if (media.length === 0) {
    expect(res.body, where).toBeNull();
    return;
  }
  const type = res.headers.get('content-type')!.split(';')[0]!;
  expect(media, where).toContain(type);
  if (type === 'application/json') expect(conforms(response!.content![type]!.schema, res.body), where).toBe(true);
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with info, the ISSUER as server, the error shape and the three credential schemes', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'https://auth.example.test' })]);
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error'] });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['basic', 'bearer', 'cookie']);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(doc.components.securitySchemes.cookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'session' });
  });

  it('lists every route the app serves, and nothing else', () => {
    const routes = t.app.routes.filter((r) => !isMiddlewareOnly(r));
    expect(routes.length).toBeGreaterThan(40);
    const documented = operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(new Set(documented)).toEqual(new Set(routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`)));
  });

  it('describes every operation: id, summary, tag, credentials, an exact success status, errors in the contract shape', () => {
    const tags = new Set(doc.tags.map((tag) => tag.name));
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, operation } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(operation.summary, where).toBeTruthy();
      expect(operation.tags?.length, where).toBe(1);
      expect(tags, where).toContain(operation.tags![0]);
      expect(Array.isArray(operation.security), `${where} declares its credentials`).toBe(true);
      const statuses = Object.keys(operation.responses);
      for (const status of statuses) expect(status, where).toMatch(/^[1-5][0-9][0-9]$/);
      // One success status; an operation that only redirects (GET /oauth/authorize/continue) has a 3xx instead.
      const successes = statuses.filter((s) => s.startsWith('2'));
      expect(successes.length === 1 || (successes.length === 0 && statuses.some((s) => s.startsWith('3'))), where).toBe(true);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const content = operation.responses[status]!.content;
        if (operation.tags![0] === 'oauth') {
          // The OpenID Connect endpoints answer in the OAuth shape, or with an HTML page; a body over the limit gets the API's error.
          const schema = content?.['application/json']?.schema;
          if (schema) expect([{ $ref: '#/components/schemas/OAuthError' }, { $ref: '#/components/schemas/Error' }], `${where} ${status}`).toContainEqual(schema);
          else expect(content?.['text/html'], `${where} ${status}`).toBeDefined();
          continue;
        }
        expect(content?.['application/json']?.schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
      if (statuses.includes('429')) expect(operation.responses['429']!.headers, where).toHaveProperty('Retry-After');
      if (operation.security!.length > 0) expect(statuses, where).toContain('401');
      if (operation.requestBody) expect(statuses, where).toEqual(expect.arrayContaining(['400', '413']));
      const successBody = operation.responses[statuses.find((s) => s.startsWith('2')) ?? statuses[0]!]!.content;
      if (successBody?.['application/json']) expect(successBody['application/json'].schema, where).not.toEqual({});
    }
  });

  it('documents credentials as the routes check them: a route needing them answers 401 without', async () => {
    const params: Record<string, string> = { identity: 'a'.repeat(64), address: 'b'.repeat(64), id: 'x', identityId: 'x' };
    let checked = 0;
    for (const { method, path, operation } of operations()) {
      if (operation.security!.length === 0) continue;
      const res = await t.request(method.toUpperCase(), path.replace(/\{(\w+)\}/g, (_, n: string) => params[n]!));
      expect(res.status, `${method.toUpperCase()} ${path}`).toBe(401);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    // …and a public one does not.
    expect(operationOf('POST', '/auth/verify').security).toEqual([]);
    expect(operationOf('GET', '/auth/sessions/current').security).toEqual([{ bearer: [] }, { basic: [] }, { cookie: [] }]);
  });

  it('documents each request with the schema of the validator that checks it', async () => {
    let checked = 0;
    for (const { route, meta } of validators()) {
      const where = `${route.method} ${route.path} ${meta.target}`;
      const { $schema: _dialect, ...expected } = (await meta.toJSONSchema({ io: 'input', unrepresentable: 'any' })) as JsonSchema;
      const documented = documentedRequest(operationOf(route.method, route.path), meta.target);
      if (meta.target === 'json') expect(documented, where).toEqual(expected);
      else {
        expect(documented.properties, where).toEqual(expected.properties);
        expect(new Set(documented.required), where).toEqual(new Set(expected.required ?? []));
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it('accepts the requests a real sign-in sends, and they pass the validators too', async () => {
    const email = uniqueEmail();
    const verifyBody = { email: email.toUpperCase() };
    expect((await t.request('POST', '/auth/verify', { body: verifyBody })).status).toBe(202);
    const signInBody = { method: 'otp', email, token: t.lastCode(email) };
    expect((await t.request('POST', '/auth/sessions', { body: signInBody })).status).toBe(201);
    const other = await t.signIn();
    const revokeParam = { id: other.session.id };
    expect((await t.request('DELETE', `/auth/sessions/${revokeParam.id}`, { token: other.token })).status).toBe(204);

    const sent: [method: string, path: string, target: string, value: unknown][] = [
      ['POST', '/auth/verify', 'json', verifyBody],
      ['POST', '/auth/sessions', 'json', signInBody],
      ['DELETE', '/auth/sessions/:id', 'param', revokeParam],
    ];
    for (const [method, path, target, value] of sent) {
      expect(conforms(documentedRequest(operationOf(method, path), target), value), `${method} ${path}`).toBe(true);
      const found = validators().filter(({ route, meta }) => route.method === method && route.path === path && meta.target === target);
      expect(found).toHaveLength(1);
      expect(await found[0]!.meta.validate(value)).not.toHaveProperty('issues');
    }
    // The check can fail: requests the validators refuse are refused by the document too.
    const signIn = documentedRequest(operationOf('POST', '/auth/sessions'), 'json');
    expect(conforms(signIn, { ...signInBody, method: 'password' })).not.toBe(true);
    expect(conforms(signIn, { email, token: '123456' })).not.toBe(true);
    expect(conforms(signIn, { ...signInBody, token: '' })).not.toBe(true);
  });

  it('answers every operation with a documented status and a body of the documented schema', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    for (const path of ['/healthz', '/readyz', '/.well-known/openid-configuration', '/.well-known/jwks.json', '/openapi.json', '/docs']) {
      await call('GET', path);
    }
    for (const path of ['/', '/demo/demo.js', '/demo/simplewebauthn-browser.js', '/v1/identity/public-key']) await call('GET', path);
    for (const path of ['/demo/oidc', '/demo/oidc.js', '/oauth/assets/sign-in.js']) await call('GET', path);

    // Codes and sessions, and the errors a caller meets on the way.
    const email = uniqueEmail();
    await call('POST', '/auth/verify', { body: { email } });
    await call('POST', '/auth/verify', { body: { email: 'not an email' } });
    await call('POST', '/auth/verify', { body: { email: 'x'.repeat(70_000) } });
    const wrongCode = t.lastCode(email) === '000000' ? '111111' : '000000';
    await call('POST', '/auth/sessions', { body: { method: 'otp', email, token: wrongCode } });
    const signedIn = await call('POST', '/auth/sessions', { body: { method: 'otp', email, token: t.lastCode(email) } });
    const token: string = signedIn.body.token;
    await call('GET', '/auth/sessions', { token });
    await call('GET', '/auth/sessions/current', { token });
    await call('GET', '/auth/sessions/current/permissions', { token });
    await call('GET', '/auth/sessions/current');
    const cookie = { cookie: `session=${token}`, origin: 'https://evil.example' };
    await call('DELETE', '/auth/sessions', { headers: cookie });
    await call('DELETE', '/auth/sessions/{id}', { token, params: { id: crypto.randomUUID() } });

    // Profiles.
    const created = await call('POST', '/identities', { token, body: { displayName: 'Ada', handle: `ada_${Date.now()}` } });
    const second = await call('POST', '/identities', { token, body: { displayName: 'Lovelace', handle: `lov_${Date.now()}`, bannerUrl: '#abc' } });
    await call('POST', '/identities', { token, body: { displayName: 'x', handle: 'no spaces' } });
    const identityId: string = created.body.identity.id;
    await call('GET', '/identities', { token });
    await call('GET', '/identities/{identityId}', { token, params: { identityId } });
    await call('GET', '/identities/{identityId}', { token, params: { identityId: 'nope' } });
    await call('PATCH', '/identities/{identityId}', { token, params: { identityId }, body: { birthday: '1815-12-10', avatarUrl: null } });
    await call('POST', '/identities/{identityId}/primary', { token, params: { identityId: second.body.identity.id } });
    await call('DELETE', '/identities/{identityId}', { token, params: { identityId } });
    await call('DELETE', '/identities/{identityId}', { token, params: { identityId: second.body.identity.id } });
    await call('GET', '/activity', { token, query: '?limit=2' });
    await call('GET', '/activity', { token, query: '?limit=0' });

    // Passkeys: register, sign in with it, delete it.
    const options = await call('POST', '/auth/passkeys/register/options', { token });
    const credential = await authenticator.register(options.body);
    await call('POST', '/auth/passkeys/register/verify', { token, body: { ...credential, name: 'Laptop' } });
    await call('POST', '/auth/passkeys/register/verify', { token, body: { ...credential, name: 'Laptop' } });
    const passkeys = await call('GET', '/auth/passkeys', { token });
    const request = await call('POST', '/auth/passkeys/authenticate/options');
    const assertion = await call('POST', '/auth/passkeys/authenticate/verify', { body: await authenticator.authenticate(request.body) });
    await call('POST', '/auth/passkeys/authenticate/verify', { body: await authenticator.authenticate(request.body) });
    const withPasskey = await call('POST', '/auth/sessions', { body: { method: 'passkey', email, token: assertion.body.token } });
    await call('DELETE', '/auth/sessions/{id}', { token, params: { id: withPasskey.body.session.id } });
    await call('PATCH', '/auth/passkeys/{id}', { token, params: { id: passkeys.body.passkeys[0].id }, body: { name: 'Work laptop' } });
    await call('PATCH', '/auth/passkeys/{id}', { token, params: { id: passkeys.body.passkeys[0].id }, body: { name: '' } });
    await call('DELETE', '/auth/passkeys/{id}', { token, params: { id: passkeys.body.passkeys[0].id } });
    await call('DELETE', '/auth/passkeys/{id}', { token, params: { id: passkeys.body.passkeys[0].id } });

    // Administration.
    const admin = await t.signIn(ADMIN);
    await call('GET', '/admin/users', { token: admin.token, query: `?email=${encodeURIComponent(email)}` });
    await call('GET', '/admin/users', { token });
    await call('POST', '/admin/users/{id}/revoke-sessions', { token: admin.token, params: { id: signedIn.body.user.id } });
    await call('POST', '/admin/users/{id}/revoke-sessions', { token: admin.token, params: { id: crypto.randomUUID() } });
    const keys = await call('GET', '/admin/keys', { token: admin.token });
    await call('GET', '/admin/keys', { token });
    const rotated = await call('POST', '/admin/keys/rotate', { token: admin.token });
    await call('DELETE', '/admin/keys/{kid}', { token: admin.token, params: { kid: keys.body.keys[0].kid } });
    await call('DELETE', '/admin/keys/{kid}', { token: admin.token, params: { kid: rotated.body.key.kid } });
    await call('DELETE', '/admin/keys/{kid}', { token: admin.token, params: { kid: rotated.body.key.kid } });
    await call('GET', '/auth/sessions', { token });

    // SpacetimeDB identities, current and legacy routes.
    for (const [prefix, websocket] of [['/v1/identity', '/websocket-token'], ['/identity', '/websocket_token']] as const) {
      const account = await call('POST', prefix, { query: prefix === '/identity' ? `?email=${encodeURIComponent(email)}` : '' });
      const { identity, token: identityToken } = account.body;
      const params = { identity, address: 'c'.repeat(32) };
      await call('POST', `${prefix}${websocket}`, { token: identityToken });
      await call('GET', `${prefix}/{identity}/verify`, { token: identityToken, params });
      await call('GET', `${prefix}/{identity}/verify`, { token: identityToken, params: { identity: 'f'.repeat(64) } });
      await call('POST', `${prefix}/{identity}/set-email`, { token: identityToken, params, query: `?email=${encodeURIComponent(email)}` });
      await call('PUT', `${prefix}/{identity}/databases/{address}`, { token: identityToken, params });
      await call('GET', `${prefix}/{identity}/databases`, { params });
      await call('GET', `${prefix}/{identity}/databases`, { params: { identity: 'not-hex' } });
      await call('DELETE', `${prefix}/{identity}/databases/{address}`, { token: identityToken, params });
    }
    await call('GET', '/identity', { query: `?email=${encodeURIComponent(email)}` });
    await call('GET', '/identity');

    // The account: change its email, delete it; an admin deletes another one.
    const owner = await t.signIn();
    const newEmail = uniqueEmail();
    await call('POST', '/auth/account/email', { token: owner.token, body: { email: ADMIN } });
    await call('POST', '/auth/account/email', { token: owner.token, body: { email: newEmail } });
    await call('POST', '/auth/account/email/verify', { token: owner.token, body: { email: newEmail, token: t.lastCode(newEmail) } });
    await call('DELETE', '/auth/account', { token: owner.token });
    const other = await t.signIn();
    await call('DELETE', '/admin/users/{id}', { token: admin.token, params: { id: other.user.id } });
    await call('DELETE', '/admin/users/{id}', { token: admin.token, params: { id: other.user.id } });
    await call('GET', '/.well-known/oauth-authorization-server');
    await openIdConnectFlows(admin.token, (await t.signIn()).token);
    await call('DELETE', '/auth/sessions', { token: admin.token });

    // Every operation has been seen succeeding, so every success schema met a real body.
    const redirectsOnly = (op: string) => !Object.keys(operationOf(op.split(' ')[0]!, op.split(' ')[1]!).responses).some((s) => s.startsWith('2'));
    const succeeded = new Set(
      [...answered].filter((a) => / 2\d\d$/.test(a) || (/ 3\d\d$/.test(a) && redirectsOnly(a))).map((a) => a.replace(/ \d+$/, '')),
    );
    const all = operations().map(({ method, path }) => `${method} ${path}`);
    expect(all.filter((op) => !succeeded.has(op))).toEqual([]);
    // …and errors of every family were answered as documented.
    const errorStatuses = new Set([...answered].map((a) => a.split(' ').pop()).filter((s) => Number(s) >= 400));
    expect([...errorStatuses].sort()).toEqual(['400', '401', '403', '404', '409', '413']);
  });

  /** The OpenID Connect provider's operations, with a client registered through /admin/clients. */
  async function openIdConnectFlows(adminToken: string, userToken: string) {
    const form = (fields: Record<string, string>) => ({ body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const redirectUri = 'https://app.example.test/cb';
    const postLogout = 'https://app.example.test/signed-out';
    const created = await call('POST', '/admin/clients', { token: adminToken, body: { name: 'App', redirectUris: [redirectUri], postLogoutRedirectUris: [postLogout], type: 'public' } });
    await call('POST', '/admin/clients', { token: adminToken, body: { name: 'Server', redirectUris: ['https://server.example.test/cb'], type: 'confidential' } });
    await call('POST', '/admin/clients', { token: adminToken, body: { name: 'Bad', redirectUris: ['http://evil.example/cb'], type: 'public' } });
    await call('GET', '/admin/clients', { token: adminToken });
    await call('GET', '/admin/clients', { token: userToken });
    const clientId: string = created.body.client.id;

    const verifier = 'v'.repeat(50);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = (extra: Record<string, string> = {}) =>
      `?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid email offline_access', state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;
    const cookie = { cookie: `session=${userToken}` };
    await call('GET', '/oauth/authorize', { query: query({ client_id: 'nobody' }) });
    const page = await call('GET', '/oauth/authorize', { query: query() });
    const requestId = /data-request="([^"]+)"/.exec(page.body)![1]!;
    await call('GET', '/oauth/authorize/continue', { query: `?request=${requestId}`, headers: cookie });
    await call('GET', '/oauth/authorize/continue', { query: `?request=${requestId}`, headers: cookie });
    await call('POST', '/oauth/authorize', form(Object.fromEntries(new URLSearchParams(query().slice(1)))));
    await call('POST', '/oauth/authorize', { body: { client_id: clientId } });
    const authorized = await call('GET', '/oauth/authorize', { query: query(), headers: cookie });
    const code = new URL(authorized.headers.get('location')!).searchParams.get('code')!;

    const exchange = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier };
    const tokens = await call('POST', '/oauth/token', form(exchange));
    await call('POST', '/oauth/token', form({ ...exchange, client_id: 'nobody' }));
    await call('POST', '/oauth/token', form({ ...exchange, grant_type: 'password' }));
    await call('POST', '/oauth/token', { ...form(exchange), body: 'x'.repeat(70_000) });
    const refreshed = await call('POST', '/oauth/token', form({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: clientId }));
    for (const method of ['GET', 'POST']) {
      await call(method, '/oauth/userinfo', { token: refreshed.body.access_token });
      await call(method, '/oauth/userinfo', { token: 'not-a-token' });
    }
    await call('POST', '/oauth/revoke', form({ token: refreshed.body.refresh_token, client_id: clientId }));
    await call('POST', '/oauth/revoke', form({ client_id: clientId }));
    await call('POST', '/oauth/revoke', form({ token: 'x', client_id: 'nobody' }));
    await call('POST', '/oauth/revoke', { ...form({ token: 'x', client_id: clientId }), body: 'x'.repeat(70_000) });

    await call('GET', '/oauth/logout', { query: `?client_id=${clientId}` });
    await call('GET', '/oauth/logout', { query: `?${new URLSearchParams({ id_token_hint: tokens.body.id_token, post_logout_redirect_uri: postLogout, state: 's' })}`, headers: cookie });
    await call('POST', '/oauth/logout', { ...form({ client_id: clientId }), headers: { ...form({}).headers, origin: 'https://evil.example' } });
    await call('POST', '/oauth/logout', { ...form({ client_id: clientId, post_logout_redirect_uri: postLogout }), headers: { ...form({}).headers, origin: 'https://auth.example.test' } });
    await call('POST', '/oauth/logout', form({}));

    await call('DELETE', '/admin/clients/{id}', { token: adminToken, params: { id: clientId } });
    await call('DELETE', '/admin/clients/{id}', { token: adminToken, params: { id: clientId } });
  }

  it('would notice a body that does not match its schema', () => {
    const schema = operationOf('POST', '/auth/sessions').responses['201']!.content!['application/json']!.schema;
    expect(conforms(schema, { token: 't', session: {}, user: {} })).not.toBe(true);
  });

  it('serves the same document every time', async () => {
    const again = await t.request('GET', '/openapi.json');
    expect(again.body).toEqual(doc);
  });
});

describe('GET /docs', () => {
  it('is a self-contained HTML page of every operation and schema', async () => {
    const res = await t.request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = res.body as string;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    for (const href of html.matchAll(/(?:href|src)="([^"]*)"/g)) expect(href[1]).toMatch(/^(#|\/openapi\.json$)/);
    for (const target of html.matchAll(/href="#([^"]+)"/g)) expect(html, target[1]).toContain(`id="${target[1]}"`);
    for (const { path, operation } of operations()) {
      expect(html).toContain(`<code>${path}</code>`);
      expect(html).toContain(`id="${operation.operationId}"`);
    }
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
  });
});
