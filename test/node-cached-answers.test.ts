import type { Server } from 'node:http';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions } from '../src/db/schema';
import { fixedResponseHeaders } from '../src/app';
import { createNodeApp } from '../src/entry/node-app';
import { nodeHasher } from '../src/entry/node-hasher';
import { listen, stopServer } from '../src/entry/node-http';
import { cachedAnswers } from '../src/entry/node-cached-answers';
import { nodeSigner } from '../src/entry/node-signer';
import { verifyIdentityToken } from '../src/domain/spacetime/tokens';
import type { LogFields } from '../src/ports/logger';
import { createMemorySessionCache } from '../src/ports/session-cache';
import { createTestContext, ORIGIN, type TestContext } from './helpers/app';
import { DAY, HOUR } from './helpers/clock';

// The Node server's app and listener (createNodeApp, listen with the fixed headers, as
// listenNodeApp wires them) over a test context whose cache the test controls, on a real socket;
// `answered` records which requests the listener took before the app.
let t: TestContext;
let server: Server;
let url: string;
const answered: boolean[] = [];
const lines: LogFields[] = [];
let now = 0;
const cache = createMemorySessionCache({ ttlMs: HOUR, maxEntries: 100, now: () => now });
/** Signatures still to fail: node:crypto's signer otherwise. */
let failingSignatures = 0;
const signer: typeof nodeSigner = {
  es256Jws: (key, header, payload) =>
    failingSignatures > 0 ? (failingSignatures--, Promise.reject(new Error('signer down'))) : nodeSigner.es256Jws(key, header, payload),
};

beforeAll(async () => {
  t = await createTestContext({ ORIGIN }, { sessionCache: cache, hasher: nodeHasher });
  const deps = { ...t.deps, signer, log: { log: (_level: string, msg: string, fields?: LogFields) => void (msg === 'request' && lines.push(fields!)) } };
  // listenNodeApp's listener, with its answer-first hook spied on: the same function, its verdicts recorded.
  const headers = fixedResponseHeaders(deps.config);
  const take = cachedAnswers(deps, headers);
  const answerFirst: typeof take = (incoming, outgoing, app) => {
    const first = take(incoming, outgoing, app);
    answered.push(first);
    return first;
  };
  const app = createNodeApp(deps);
  ({ server, url } = await listen(app.fetch, { host: '127.0.0.1', port: 0, log: deps.log, headers, answerFirst }));
});

afterAll(async () => {
  await stopServer(server, 1000);
  await t.close();
});

async function get(token: string | null, headers: Record<string, string> = {}, path = '/auth/sessions/current') {
  const res = await fetch(`${url}${path}`, { headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, first: answered.at(-1)! };
}

const shape = (headers: Headers) => Object.fromEntries([...headers].filter(([name]) => !['date', 'x-request-id', 'keep-alive', 'connection'].includes(name)));

describe("the Node listener's cached session check", () => {
  it('answers a cached session as the app does: same status, headers, body and log line', async () => {
    const { token } = await t.signIn();
    const viaApp = await get(token, { 'x-request-id': 'from-the-app' });
    expect(viaApp).toMatchObject({ status: 200, first: false });
    const cached = await get(token, { 'x-request-id': 'from-the-listener' });
    expect(cached).toMatchObject({ status: 200, first: true });
    expect(cached.body).toEqual(viaApp.body);
    expect(shape(cached.headers)).toEqual(shape(viaApp.headers));
    expect(cached.headers.get('x-request-id')).toBe('from-the-listener');
    expect(lines.at(-1)).toMatchObject({ requestId: 'from-the-listener', method: 'GET', path: '/auth/sessions/current', status: 200 });
    expect(Object.keys(lines.at(-1)!)).toEqual(Object.keys(lines.at(-2)!));
    // A request id that is not a short token is replaced, as the app replaces it.
    const replaced = await get(token, { 'x-request-id': 'no spaces allowed' });
    expect(replaced.first).toBe(true);
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f]{24}$/);
  });

  it('reads the session cookie as the app does, and leaves Basic to the app', async () => {
    const { token, setCookie } = await t.signIn();
    const cookie = `theme=dark; ${setCookie!.split(';')[0]!}`;
    expect(await get(null, { cookie })).toMatchObject({ status: 200, first: false });
    expect(await get(null, { cookie })).toMatchObject({ status: 200, first: true });
    const basic = `Basic ${Buffer.from(`token:${token}`).toString('base64')}`;
    expect(await get(null, { authorization: basic })).toMatchObject({ status: 200, first: false });
  });

  it('leaves every other request to the app: a wrong secret, an Origin, a query, another path, no credential', async () => {
    const { token } = await t.signIn();
    expect((await get(token)).status).toBe(200);
    const [id, secret] = token.split('.') as [string, string];
    const wrong = await get(`${id}.${secret.slice(0, -2)}${secret.endsWith('AA') ? 'BB' : 'AA'}`);
    expect(wrong).toMatchObject({ status: 401, first: false });
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    const cors = await get(token, { origin: ORIGIN });
    expect(cors).toMatchObject({ status: 200, first: false });
    expect(cors.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await get(token, {}, '/auth/sessions/current?x=1')).toMatchObject({ status: 200, first: false });
    expect(await get(token, {}, '/auth/sessions/current/permissions')).toMatchObject({ status: 200, first: false });
    expect(await get(null)).toMatchObject({ status: 401, first: false });
    expect(await get(null, { authorization: 'Bearer' })).toMatchObject({ status: 401, first: false });
  });

  it('never answers a revoked, expired or sliding session: the app decides those', async () => {
    const victim = await t.signIn();
    const other = await t.signIn(victim.email);
    expect((await get(victim.token)).status).toBe(200);
    expect((await get(victim.token)).first).toBe(true);
    expect((await fetch(`${url}/auth/sessions/${victim.session.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${other.token}` } })).status).toBe(204);
    expect(await get(victim.token)).toMatchObject({ status: 401, first: false });

    // Gone from the database behind the cache's back: the entry still answers until it is evicted, as the app's check would.
    expect((await get(other.token)).first).toBe(true);
    await t.deps.db.delete(sessions).where(eq(sessions.id, other.session.id));
    cache.evictSession(other.session.id);
    expect(await get(other.token)).toMatchObject({ status: 401, first: false });

    const { token, setCookie } = await t.signIn();
    const cookie = setCookie!.split(';')[0]!;
    expect((await get(null, { cookie })).status).toBe(200);
    t.clock.advance(2 * HOUR);
    const slid = await get(null, { cookie });
    expect(slid).toMatchObject({ status: 200, first: false });
    expect(slid.headers.get('set-cookie')).toMatch(/^session=/);
    expect(await get(null, { cookie })).toMatchObject({ status: 200, first: true });
    t.clock.advance(31 * DAY);
    expect(await get(token)).toMatchObject({ status: 401, first: false });
  });

  it('answers nothing while the cache is suspended', async () => {
    const { token } = await t.signIn();
    expect((await get(token)).status).toBe(200);
    expect((await get(token)).first).toBe(true);
    cache.suspend();
    try {
      expect(await get(token)).toMatchObject({ status: 200, first: false });
      expect(await get(token)).toMatchObject({ status: 200, first: false });
    } finally {
      cache.resume();
    }
    now += HOUR;
  });
});

async function mint(token: string | null, headers: Record<string, string> = {}, path = '/v1/identity/websocket-token', init: RequestInit = {}) {
  const res = await fetch(`${url}${path}`, { method: 'POST', ...init, headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, first: answered.at(-1)! };
}

/** A JWT's header and claims, decoded. */
const jwtParts = (jwt: string) => jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));

describe("the Node listener's websocket tokens", () => {
  it('mints a token for a cached session as the app does, under both names of the route', async () => {
    const { token, user } = await t.signIn();
    const viaApp = await mint(token, { 'x-request-id': 'from-the-app' });
    expect(viaApp).toMatchObject({ status: 200, first: false });
    const minted = await mint(token, { 'x-request-id': 'from-the-listener' });
    expect(minted).toMatchObject({ status: 200, first: true });
    expect(Object.keys(minted.body)).toEqual(['token']);
    expect(shape(minted.headers)).toEqual(shape(viaApp.headers));
    expect(minted.headers.get('x-request-id')).toBe('from-the-listener');
    // The same header and claims (the test clock stands still), signed anew, and valid.
    expect(jwtParts(minted.body.token)).toEqual(jwtParts(viaApp.body.token));
    expect(minted.body.token).not.toBe(viaApp.body.token);
    const verified = await verifyIdentityToken(t.deps, minted.body.token);
    expect(verified?.user.id).toBe(user.id);
    expect(verified?.claims).toMatchObject({ sub: user.id, token_use: 'websocket', exp: verified!.claims.iat + 60 });
    expect(lines.at(-1)).toMatchObject({ requestId: 'from-the-listener', method: 'POST', path: '/v1/identity/websocket-token', status: 200 });
    expect(Object.keys(lines.at(-1)!)).toEqual(Object.keys(lines.at(-2)!));

    const legacy = await mint(token, {}, '/identity/websocket_token');
    expect(legacy).toMatchObject({ status: 200, first: true });
    expect(jwtParts(legacy.body.token)).toEqual(jwtParts(viaApp.body.token));
    expect(lines.at(-1)).toMatchObject({ method: 'POST', path: '/identity/websocket_token', status: 200 });
  });

  it('leaves the rest to the app: a cookie, Basic, an identity token, a body, an Origin, a query, a wrong secret', async () => {
    const { token, setCookie } = await t.signIn();
    expect((await mint(token)).first).toBe(false);
    expect(await mint(token)).toMatchObject({ status: 200, first: true });
    // A state change by cookie is the app's, with its CSRF rule.
    expect(await mint(null, { cookie: setCookie!.split(';')[0]! })).toMatchObject({ status: 200, first: false });
    expect(await mint(null, { cookie: setCookie!.split(';')[0]!, 'sec-fetch-site': 'cross-site' })).toMatchObject({ status: 403, first: false });
    expect(await mint(null, { authorization: `Basic ${Buffer.from(`token:${token}`).toString('base64')}` })).toMatchObject({ status: 200, first: false });
    const identity = (await (await fetch(`${url}/v1/identity`, { method: 'POST' })).json()) as { token: string };
    expect(await mint(identity.token)).toMatchObject({ status: 200, first: false });
    expect(await mint(token, { 'content-type': 'application/json' }, undefined, { body: '{}' })).toMatchObject({ status: 200, first: false });
    const cors = await mint(token, { origin: ORIGIN });
    expect(cors).toMatchObject({ status: 200, first: false });
    expect(cors.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await mint(token, {}, '/v1/identity/websocket-token?x=1')).toMatchObject({ status: 200, first: false });
    const [id, secret] = token.split('.') as [string, string];
    const wrong = await mint(`${id}.${secret.slice(0, -2)}${secret.endsWith('AA') ? 'BB' : 'AA'}`);
    expect(wrong).toMatchObject({ status: 401, first: false });
    expect(wrong.headers.get('www-authenticate')).toBe(`Bearer realm="${t.deps.config.issuer}", Basic realm="${t.deps.config.issuer}"`);
    expect(await mint(null)).toMatchObject({ status: 401, first: false });
  });

  it('never mints for a revoked session', async () => {
    const victim = await t.signIn();
    const other = await t.signIn(victim.email);
    await mint(victim.token);
    expect(await mint(victim.token)).toMatchObject({ status: 200, first: true });
    expect((await fetch(`${url}/auth/sessions/${victim.session.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${other.token}` } })).status).toBe(204);
    expect(await mint(victim.token)).toMatchObject({ status: 401, first: false });
  });

  it('hands a request whose token it fails to mint to the app, which answers it', async () => {
    const { token } = await t.signIn();
    await mint(token);
    failingSignatures = 1;
    const retried = await mint(token);
    expect(retried).toMatchObject({ status: 200, first: true });
    expect(typeof retried.body.token).toBe('string');
    expect(lines.at(-1)).toMatchObject({ method: 'POST', path: '/v1/identity/websocket-token', status: 200 });
    failingSignatures = 2;
    const failed = await mint(token);
    expect(failed).toMatchObject({ status: 500, first: true, body: { error: { code: 'internal_error' } } });
    expect(lines.at(-1)).toMatchObject({ method: 'POST', path: '/v1/identity/websocket-token', status: 500 });
    expect(failingSignatures).toBe(0);
  });
});
