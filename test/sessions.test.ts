import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, sessions, users } from '../src/db/schema';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from './helpers/app';
import { DAY, HOUR, MINUTE } from './helpers/clock';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ ADMIN_EMAILS: 'boss@example.com' });
});
afterAll(() => t.close());

const cookieOf = (setCookie: string | null) => setCookie!.split(';')[0]!;

describe('code sign-in', () => {
  it('creates the account on the first sign-in and returns token, session, user and cookie', async () => {
    const email = uniqueEmail();
    const verify = await t.request('POST', '/auth/verify', { body: { email: `  ${email.toUpperCase()} ` } });
    expect(verify.status).toBe(202);
    expect(new Date(verify.body.expiresAt).getTime()).toBe(t.clock.now().getTime() + 10 * MINUTE);
    const mail = t.mailer.outbox.at(-1)!;
    expect(mail.to).toBe(email);

    const code = t.lastCode(email);
    const res = await t.request('POST', '/auth/sessions', {
      body: { method: 'otp', email: email.toUpperCase(), token: code },
      headers: { 'user-agent': 'vitest-agent' },
    });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^[\w-]+\.[\w-]{43}$/);
    expect(res.body.user).toEqual({
      id: expect.any(String),
      identity: expect.stringMatching(/^c200[0-9a-f]{60}$/),
      email,
      role: 'user',
      createdAt: t.clock.now().toISOString(),
    });
    expect(res.body.session).toMatchObject({
      method: 'otp',
      current: true,
      ipAddress: '127.0.0.1',
      userAgent: 'vitest-agent',
      createdAt: t.clock.now().toISOString(),
      expiresAt: new Date(t.clock.now().getTime() + 30 * DAY).toISOString(),
    });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toContain(`session=${res.body.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);

    const [row] = await t.db.select().from(sessions).where(eq(sessions.id, res.body.session.id));
    expect(row!.secretHash).not.toContain(res.body.token.split('.')[1]);
    expect(row!.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs the same email into the same account the second time', async () => {
    const first = await t.signIn();
    const second = await t.signIn(first.email);
    expect(second.user.id).toBe(first.user.id);
    expect(second.session.id).not.toBe(first.session.id);
    expect(await t.db.select().from(users).where(eq(users.email, first.email))).toHaveLength(1);
  });

  it('marks ADMIN_EMAILS accounts as admins', async () => {
    const { user } = await t.signIn('boss@example.com');
    expect(user.role).toBe('admin');
  });

  it('refuses a code that was already used', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    const body = { method: 'otp', email, token: code };
    expect((await t.request('POST', '/auth/sessions', { body })).status).toBe(201);
    const again = await t.request('POST', '/auth/sessions', { body });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_code');
  });

  it('refuses an expired code', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    t.clock.advance(10 * MINUTE + 1);
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_code');
  });

  it('replaces an earlier code when a new one is requested', async () => {
    const email = uniqueEmail();
    const first = await t.requestCode(email);
    let second = await t.requestCode(email);
    while (second === first) second = await t.requestCode(email);
    const old = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: first } });
    expect(old.status).toBe(401);
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: second } });
    expect(res.status).toBe(201);
  });

  it('answers passkey sign-in with a token that is not a passkey sign-in token with an error', async () => {
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: uniqueEmail(), token: 'nope' } });
    expect([400, 401]).toContain(res.status);
    expect(res.body.error.code).toMatch(/invalid_request|invalid_code/);
  });

  it('gives exactly one 201 to 20 concurrent sign-ins with the same code', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    // The losers see the code as used (401) or, past the per-email budget of tries, 429.
    expect(statuses.filter((s) => s !== 201).every((s) => s === 401 || s === 429)).toBe(true);
    const [user] = await t.db.select().from(users).where(eq(users.email, email));
    expect(await t.db.select().from(sessions).where(eq(sessions.userId, user!.id))).toHaveLength(1);
  });
});

describe('session management', () => {
  it('reads the current session and user with Bearer, Basic and the cookie', async () => {
    const s = await t.signIn();
    const bearer = await t.request('GET', '/auth/sessions/current', { token: s.token });
    expect(bearer.status).toBe(200);
    expect(bearer.body.user.id).toBe(s.user.id);
    expect(bearer.body.session).toMatchObject({ id: s.session.id, current: true });

    const basic = await t.request('GET', '/auth/sessions/current', {
      headers: { authorization: `Basic ${Buffer.from(`token:${s.token}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
    expect(basic.body.session.id).toBe(s.session.id);

    const cookie = await t.request('GET', '/auth/sessions/current', { headers: { cookie: cookieOf(s.setCookie) } });
    expect(cookie.status).toBe(200);
    expect(cookie.body.session.id).toBe(s.session.id);
  });

  it('refuses missing, malformed and forged credentials with 401', async () => {
    const s = await t.signIn();
    const [id] = s.token.split('.');
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer nonsense' },
      { authorization: `Bearer ${id}.${'A'.repeat(43)}` },
      { authorization: `Token ${s.token}` },
      { authorization: `Basic ${Buffer.from(`user:${s.token}`).toString('base64')}` },
      { authorization: 'Basic %%%' },
      { cookie: 'session=garbage' },
    ]) {
      const res = await t.request('GET', '/auth/sessions/current', { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
  });

  it('lists live sessions newest first and marks the current one', async () => {
    const first = await t.signIn();
    t.clock.advance(1000);
    const second = await t.signIn(first.email);
    const res = await t.request('GET', '/auth/sessions', { token: first.token });
    expect(res.status).toBe(200);
    expect(res.body.sessions.map((s: { id: string }) => s.id)).toEqual([second.session.id, first.session.id]);
    expect(res.body.sessions.map((s: { current: boolean }) => s.current)).toEqual([false, true]);
  });

  it('revokes another session by id, and its token is 401 on the next request', async () => {
    const a = await t.signIn();
    const b = await t.signIn(a.email);
    const res = await t.request('DELETE', `/auth/sessions/${b.session.id}`, { token: a.token });
    expect(res.status).toBe(204);
    expect((await t.request('GET', '/auth/sessions/current', { token: b.token })).status).toBe(401);
    expect((await t.request('GET', '/auth/sessions/current', { token: a.token })).status).toBe(200);
    const log = await t.db.select().from(activity).where(eq(activity.userId, a.user.id));
    expect(log.map((r) => r.action)).toEqual(expect.arrayContaining(['session_created', 'session_revoked']));
  });

  it('answers 404 for a session of another user and leaves it alive', async () => {
    const a = await t.signIn();
    const b = await t.signIn();
    const res = await t.request('DELETE', `/auth/sessions/${b.session.id}`, { token: a.token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await t.request('GET', '/auth/sessions/current', { token: b.token })).status).toBe(200);
  });

  it('signs out the current session and clears the cookie', async () => {
    const s = await t.signIn();
    const res = await t.request('DELETE', '/auth/sessions', { token: s.token });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/session=;.*Max-Age=0/);
    expect((await t.request('GET', '/auth/sessions/current', { token: s.token })).status).toBe(401);
  });

  it('slides expiry on use and expires a session idle for 30 days', async () => {
    const s = await t.signIn();
    t.clock.advance(20 * DAY);
    const used = await t.request('GET', '/auth/sessions/current', { token: s.token });
    expect(used.status).toBe(200);
    expect(used.body.session.expiresAt).toBe(new Date(t.clock.now().getTime() + 30 * DAY).toISOString());
    expect(used.body.session.lastActiveAt).toBe(t.clock.now().toISOString());
    t.clock.advance(29 * DAY);
    expect((await t.request('GET', '/auth/sessions/current', { token: s.token })).status).toBe(200);
    t.clock.advance(30 * DAY + HOUR);
    expect((await t.request('GET', '/auth/sessions/current', { token: s.token })).status).toBe(401);
  });

  it('lists permissions, with passkeys:write only while the session is fresh and users:* for admins', async () => {
    const s = await t.signIn();
    const fresh = await t.request('GET', '/auth/sessions/current/permissions', { token: s.token });
    expect(fresh.status).toBe(200);
    expect(fresh.body.permissions.sort()).toEqual(
      ['sessions:read', 'sessions:revoke', 'passkeys:read', 'passkeys:write', 'identities:read', 'identities:write', 'activity:read', 'tokens:issue'].sort(),
    );
    t.clock.advance(10 * MINUTE);
    const stale = await t.request('GET', '/auth/sessions/current/permissions', { token: s.token });
    expect(stale.body.permissions).not.toContain('passkeys:write');
    expect(stale.body.permissions).not.toContain('users:read');

    const admin = await t.signIn('boss@example.com');
    const perms = await t.request('GET', '/auth/sessions/current/permissions', { token: admin.token });
    expect(perms.body.permissions).toEqual(expect.arrayContaining(['users:read', 'users:write']));
  });
});

describe('cookies and CSRF', () => {
  it('refuses a cookie-authenticated state change from a foreign Origin', async () => {
    const s = await t.signIn();
    const res = await t.request('DELETE', '/auth/sessions', { headers: { cookie: cookieOf(s.setCookie), origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect((await t.request('GET', '/auth/sessions/current', { token: s.token })).status).toBe(200);
  });

  it('accepts a cookie-authenticated state change from an allowed Origin', async () => {
    const s = await t.signIn();
    const res = await t.request('DELETE', '/auth/sessions', { headers: { cookie: cookieOf(s.setCookie), origin: ORIGIN } });
    expect(res.status).toBe(204);
  });

  it('does not apply the Origin rule to bearer tokens, which a browser never sends by itself', async () => {
    const s = await t.signIn();
    const res = await t.request('DELETE', '/auth/sessions', { token: s.token, headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(204);
  });

  it('answers CORS preflights with credentials for allowed origins only', async () => {
    const ok = await t.app.request('/auth/sessions', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const evil = await t.app.request('/auth/sessions', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('maintenance', () => {
  it('purges expired codes, counters and sessions but keeps live ones', async () => {
    const { purgeExpired } = await import('../src/domain/maintenance');
    const { otpCodes, rateLimits } = await import('../src/db/schema');
    const live = await t.signIn();
    const stale = await t.signIn();
    await t.requestCode(uniqueEmail());
    t.clock.advance(29 * DAY);
    await t.request('GET', '/auth/sessions/current', { token: live.token });
    t.clock.advance(2 * DAY);
    await purgeExpired(t.deps);
    expect(await t.db.select().from(sessions).where(eq(sessions.id, stale.session.id))).toHaveLength(0);
    expect(await t.db.select().from(sessions).where(eq(sessions.id, live.session.id))).toHaveLength(1);
    expect(await t.db.select().from(otpCodes)).toHaveLength(0);
    expect(await t.db.select().from(rateLimits)).toHaveLength(0);
  });
});
