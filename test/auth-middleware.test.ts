import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challengeWith, requireAuth } from '../src/http/auth';
import type { AppEnv } from '../src/http/env';
import { createTestContext, ORIGIN, type TestContext } from './helpers/app';
import { HOUR } from './helpers/clock';
import { sendRequest, type RequestOptions } from './helpers/http';

/** requireAuth on its own: a tiny app over the test context's database and clock. */
let t: TestContext;
let identityToken: string;
let identity: string;

function tinyApp() {
  const deps = t.deps;
  const session = requireAuth(deps, { accept: ['session'] });
  const either = requireAuth(deps, { accept: ['session', 'identity-token'] });
  const app = new Hono<AppEnv>()
    .use(challengeWith(deps.config, ['Bearer', 'Basic']))
    .get('/session', session, (c) => c.json({ user: c.var.auth.user.id, session: c.var.auth.session.id }))
    .post('/session', session, (c) => c.json({ user: c.var.auth.user.id }))
    .get('/either', either, (c) => c.json({ user: c.var.caller.user.id, claims: c.var.caller.claims !== null }))
    .post('/either', either, (c) => c.json({ user: c.var.caller.user.id }));
  return (method: string, path: string, options?: RequestOptions) => sendRequest((url, init) => app.request(url, init), method, path, options);
}

beforeAll(async () => {
  t = await createTestContext();
  const created = await t.request('POST', '/v1/identity');
  identityToken = created.body.token;
  identity = created.body.identity;
});
afterAll(() => t.close());

const cookieOf = (setCookie: string | null) => setCookie!.split(';')[0]!;

describe('requireAuth', () => {
  it("accept: ['session'] puts the session and its user in c.var.auth, and refuses an identity token", async () => {
    const request = tinyApp();
    const s = await t.signIn();
    const ok = await request('GET', '/session', { token: s.token });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ user: s.user.id, session: s.session.id });

    const jwt = await request('GET', '/session', { token: identityToken });
    expect(jwt.status).toBe(401);
    expect(jwt.body.error.code).toBe('unauthorized');
    expect(jwt.headers.get('www-authenticate')).toMatch(/^Bearer realm=".+", Basic realm=".+"$/);
  });

  it("accept: ['session', 'identity-token'] puts the caller in c.var.caller for either credential", async () => {
    const request = tinyApp();
    const s = await t.signIn();
    expect((await request('GET', '/either', { token: s.token })).body).toEqual({ user: s.user.id, claims: false });
    const viaJwt = await request('GET', '/either', { token: identityToken });
    expect(viaJwt.status).toBe(200);
    expect(viaJwt.body.claims).toBe(true);
    const [user] = await t.db.query.users.findMany({ where: (u, { eq }) => eq(u.identity, identity) });
    expect(viaJwt.body.user).toBe(user!.id);
  });

  it('answers 401 without a credential or with a malformed header, on both kinds', async () => {
    const request = tinyApp();
    for (const path of ['/session', '/either']) {
      for (const headers of [{}, { authorization: 'Bearer' }, { authorization: 'Token abc' }, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
        const res = await request('GET', path, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Bearer realm=');
      }
    }
  });

  it('refuses a cookie-authenticated state change from a foreign Origin on both kinds, and allows our own', async () => {
    const request = tinyApp();
    const s = await t.signIn();
    const cookie = cookieOf(s.setCookie);
    for (const path of ['/session', '/either']) {
      const foreign = await request('POST', path, { headers: { cookie, origin: 'https://evil.example' } });
      expect(foreign.status, path).toBe(403);
      expect(foreign.body.error.code).toBe('forbidden');
      expect((await request('POST', path, { headers: { cookie, origin: ORIGIN } })).status, path).toBe(200);
      // A bearer token carries no ambient authority: no Origin check.
      expect((await request('POST', path, { token: s.token, headers: { origin: 'https://evil.example' } })).status, path).toBe(200);
    }
  });

  it('re-sends the cookie when the check slid the expiry, on both kinds, and only for a cookie', async () => {
    const request = tinyApp();
    for (const path of ['/session', '/either']) {
      const s = await t.signIn();
      const cookie = cookieOf(s.setCookie);
      expect((await request('GET', path, { headers: { cookie } })).headers.get('set-cookie'), 'no slide within the hour').toBeNull();
      t.clock.advance(HOUR);
      const slid = await request('GET', path, { headers: { cookie } });
      expect(slid.status).toBe(200);
      expect(slid.headers.get('set-cookie'), path).toContain(`${cookie};`);
      const expires = new Date(/Expires=([^;]+)/.exec(slid.headers.get('set-cookie')!)![1]!);
      expect(Math.abs(expires.getTime() - (t.clock.now().getTime() + 30 * 24 * HOUR))).toBeLessThan(1000);

      const bearer = await t.signIn();
      t.clock.advance(HOUR);
      expect((await request('GET', path, { token: bearer.token })).headers.get('set-cookie'), `${path} with a bearer token`).toBeNull();
    }
  });
});

describe('the identity routes', () => {
  it('re-send the sliding session cookie too', async () => {
    const s = await t.signIn();
    const cookie = cookieOf(s.setCookie);
    t.clock.advance(2 * HOUR);
    const res = await t.request('GET', `/v1/identity/${s.user.identity}/verify`, { headers: { cookie } });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toContain(`${cookie};`);
  });
});
