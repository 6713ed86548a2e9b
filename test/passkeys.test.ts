import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, passkeys, signInTokens, users, webauthnChallenges } from '../src/db/schema';
import { OPTIONS_LIMIT_PER_IP } from '../src/domain/passkeys/authentication';
import { FAILED_SIGN_INS_PER_IP } from '../src/domain/sign-in/failures';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from './helpers/app';
import { MINUTE } from './helpers/clock';
import { SoftAuthenticator } from './helpers/webauthn';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

type SignedIn = Awaited<ReturnType<TestContext['signIn']>>;

/** Signs a new account in with a code and registers one passkey on a fresh soft authenticator. */
async function accountWithPasskey(name = 'Laptop') {
  const account = await t.signIn();
  const authenticator = new SoftAuthenticator(ORIGIN);
  const res = await register(account, authenticator, name);
  expect(res.status).toBe(201);
  return { ...account, authenticator, passkey: res.body.passkey };
}

async function register(account: SignedIn, authenticator: SoftAuthenticator, name = 'Laptop') {
  const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
  expect(options.status).toBe(200);
  const credential = await authenticator.register(options.body);
  return t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name } });
}

async function authenticationOptions() {
  const res = await t.request('POST', '/auth/passkeys/authenticate/options');
  expect(res.status).toBe(200);
  return res.body;
}

async function assertWith(authenticator: SoftAuthenticator, overrides: Parameters<SoftAuthenticator['authenticate']>[1] = {}) {
  const credential = await authenticator.authenticate(await authenticationOptions(), overrides);
  return t.request('POST', '/auth/passkeys/authenticate/verify', { body: credential });
}

async function activityOf(userId: string, action: string) {
  return t.db.select().from(activity).where(and(eq(activity.userId, userId), eq(activity.action, action)));
}

describe('registration', () => {
  it('offers creation options for a discoverable credential under an opaque user handle', async () => {
    const account = await t.signIn();
    const res = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    expect(res.status).toBe(200);
    const [user] = await t.db.select().from(users).where(eq(users.id, account.user.id));
    expect(res.body).toMatchObject({
      rp: { id: 'localhost', name: 'Auth' },
      user: { id: user!.webauthnUserId, name: account.email },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    expect(res.body.user.id).toMatch(/^[\w-]{43}$/);
    expect(Buffer.from(res.body.user.id, 'base64url').toString('utf8')).not.toContain(account.email);
    expect(res.body.pubKeyCredParams).toContainEqual({ type: 'public-key', alg: -7 });

    const [challenge] = await t.db.select().from(webauthnChallenges).where(eq(webauthnChallenges.challenge, res.body.challenge));
    expect(challenge).toEqual({
      challenge: res.body.challenge,
      kind: 'registration',
      userId: account.user.id,
      expiresAt: new Date(t.clock.now().getTime() + 5 * MINUTE),
    });
  });

  it('stores a verified passkey under its name, lists it and logs passkey_registered', async () => {
    const account = await t.signIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const res = await register(account, authenticator, '  Work laptop ');
    expect(res.status).toBe(201);
    expect(res.body.passkey).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Work laptop',
      createdAt: t.clock.now().toISOString(),
      lastUsedAt: null,
      deviceType: 'multiDevice',
      backedUp: true,
      transports: ['internal', 'hybrid'],
    });
    const [row] = await t.db.select().from(passkeys).where(eq(passkeys.id, res.body.passkey.id));
    expect(row).toMatchObject({ userId: account.user.id, credentialId: authenticator.credentials[0]!.id, counter: 0 });

    const list = await t.request('GET', '/auth/passkeys', { token: account.token });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ passkeys: [res.body.passkey] });

    const logged = await activityOf(account.user.id, 'passkey_registered');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ severity: 'info', metadata: { passkeyId: res.body.passkey.id, name: 'Work laptop' } });
  });

  it("lists the caller's passkeys in excludeCredentials", async () => {
    const account = await accountWithPasskey();
    const second = await register(account, account.authenticator, 'Phone');
    expect(second.status).toBe(201);
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const ids = account.authenticator.credentials.map((c) => c.id);
    expect(options.body.excludeCredentials).toHaveLength(2);
    expect(options.body.excludeCredentials.map((c: { id: string }) => c.id).sort()).toEqual([...ids].sort());
    expect(options.body.excludeCredentials[0]).toMatchObject({ type: 'public-key', transports: ['internal', 'hybrid'] });

    const stranger = await t.signIn();
    const theirs = await t.request('POST', '/auth/passkeys/register/options', { token: stranger.token });
    expect(theirs.body.excludeCredentials).toEqual([]);
  });

  it('uses a registration challenge once', async () => {
    const account = await t.signIn();
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const credential = await new SoftAuthenticator(ORIGIN).register(options.body);
    const body = { ...credential, name: 'Key' };
    expect((await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body })).status).toBe(201);
    const again = await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('invalid_passkey');
  });

  it("refuses another account's challenge, a wrong origin or rp id, and an expired challenge", async () => {
    const account = await t.signIn();
    const other = await t.signIn();
    const attempt = async (overrides: { origin?: string; rpId?: string }, options?: unknown) => {
      const opts = options ?? (await t.request('POST', '/auth/passkeys/register/options', { token: account.token })).body;
      const credential = await new SoftAuthenticator(ORIGIN).register(opts as never, overrides);
      return t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: 'Key' } });
    };
    const othersOptions = (await t.request('POST', '/auth/passkeys/register/options', { token: other.token })).body;
    for (const res of [
      await attempt({}, othersOptions),
      await attempt({ origin: 'https://evil.example' }),
      await attempt({ rpId: 'evil.example' }),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_passkey');
    }

    const options = (await t.request('POST', '/auth/passkeys/register/options', { token: account.token })).body;
    t.clock.advance(5 * MINUTE);
    const expired = await attempt({}, options);
    expect(expired.status).toBe(400);
    expect(expired.body.error.code).toBe('invalid_passkey');
    expect(await t.db.select().from(passkeys).where(eq(passkeys.userId, account.user.id))).toEqual([]);
  });

  it('validates the body', async () => {
    const account = await t.signIn();
    const res = await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { name: 'x', id: 'abc' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });

  it('needs a session', async () => {
    for (const [method, path] of [
      ['POST', '/auth/passkeys/register/options'],
      ['POST', '/auth/passkeys/register/verify'],
      ['GET', '/auth/passkeys'],
      ['DELETE', '/auth/passkeys/0190a5f0-0000-7000-8000-000000000000'],
    ] as const) {
      const res = await t.request(method, path, { body: method === 'POST' ? {} : undefined });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });

  it('refuses a cookie-authenticated registration from a foreign origin', async () => {
    const account = await t.signIn();
    const cookie = account.setCookie!.split(';')[0]!;
    const foreign = await t.request('POST', '/auth/passkeys/register/options', { headers: { cookie, origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    const own = await t.request('POST', '/auth/passkeys/register/options', { headers: { cookie, origin: ORIGIN } });
    expect(own.status).toBe(200);
  });
});

describe('sign-in with a passkey', () => {
  it('turns an assertion into a sign-in token and the token into a passkey session', async () => {
    const account = await accountWithPasskey();
    const options = await authenticationOptions();
    expect(options).toMatchObject({ rpId: 'localhost', allowCredentials: [], userVerification: 'required' });
    const [challenge] = await t.db.select().from(webauthnChallenges).where(eq(webauthnChallenges.challenge, options.challenge));
    expect(challenge).toMatchObject({ kind: 'authentication', userId: null, expiresAt: new Date(t.clock.now().getTime() + 5 * MINUTE) });

    const verified = await t.request('POST', '/auth/passkeys/authenticate/verify', {
      body: await account.authenticator.authenticate(options),
    });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({
      token: expect.stringMatching(/^[\w-]{43}$/),
      email: account.email,
      expiresAt: new Date(t.clock.now().getTime() + 5 * MINUTE).toISOString(),
    });
    const stored = await t.db.select().from(signInTokens).where(eq(signInTokens.userId, account.user.id));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0]!.tokenHash).not.toContain(verified.body.token);
    const [row] = await t.db.select().from(passkeys).where(eq(passkeys.id, account.passkey.id));
    expect(row).toMatchObject({ counter: 1, lastUsedAt: t.clock.now() });

    const session = await t.request('POST', '/auth/sessions', {
      body: { method: 'passkey', email: verified.body.email, token: verified.body.token },
    });
    expect(session.status).toBe(201);
    expect(session.body.session.method).toBe('passkey');
    expect(session.body.user).toMatchObject({ id: account.user.id, email: account.email });
    expect(session.headers.get('set-cookie')).toContain(`session=${session.body.token}`);

    const current = await t.request('GET', '/auth/sessions/current', { token: session.body.token });
    expect(current.body.session.method).toBe('passkey');
    const list = await t.request('GET', '/auth/passkeys', { token: session.body.token });
    expect(list.body.passkeys[0].lastUsedAt).toBe(t.clock.now().toISOString());
  });

  it('refuses a replayed assertion and a second answer to the same challenge', async () => {
    const account = await accountWithPasskey();
    const options = await authenticationOptions();
    const assertion = await account.authenticator.authenticate(options);
    expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion })).status).toBe(200);
    const replay = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('unauthorized');
    const fresh = await account.authenticator.authenticate(options);
    expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: fresh })).status).toBe(401);
  });

  it('answers a challenge once even to concurrent requests', async () => {
    const account = await accountWithPasskey();
    const assertion = await account.authenticator.authenticate(await authenticationOptions());
    const results = await Promise.all(
      Array.from({ length: 5 }, () => t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
  });

  it('refuses a wrong origin', async () => {
    const { authenticator } = await accountWithPasskey();
    const res = await assertWith(authenticator, { origin: 'https://evil.example' });
    expect(res.status).toBe(401);
  });

  it('refuses a wrong rp id', async () => {
    const { authenticator } = await accountWithPasskey();
    const res = await assertWith(authenticator, { rpId: 'evil.example' });
    expect(res.status).toBe(401);
  });

  it('refuses a signature counter that does not move forward', async () => {
    const { authenticator, passkey } = await accountWithPasskey();
    expect((await assertWith(authenticator, { counter: 5 })).status).toBe(200);
    expect((await assertWith(authenticator, { counter: 3 })).status).toBe(401);
    expect((await assertWith(authenticator, { counter: 5 })).status).toBe(401);
    const [row] = await t.db.select().from(passkeys).where(eq(passkeys.id, passkey.id));
    expect(row!.counter).toBe(5);
    expect((await assertWith(authenticator, { counter: 6 })).status).toBe(200);
  });

  it('gives one sign-in token to parallel assertions carrying the same counter, each on its own challenge', async () => {
    const { authenticator, passkey, user } = await accountWithPasskey();
    const assertions = await Promise.all(Array.from({ length: 8 }, async () => authenticator.authenticate(await authenticationOptions(), { counter: 7 })));
    const results = await Promise.all(assertions.map((body) => t.request('POST', '/auth/passkeys/authenticate/verify', { body })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(7);
    // The losers stored no token: exactly one row, the winner's, which signs in once.
    expect(await t.db.select().from(signInTokens).where(eq(signInTokens.passkeyId, passkey.id))).toHaveLength(1);
    const [row] = await t.db.select().from(passkeys).where(eq(passkeys.id, passkey.id));
    expect(row!.counter).toBe(7);
    const won = results.find((r) => r.status === 200)!.body as { token: string; email: string };
    expect((await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: won.email, token: won.token } })).status).toBe(201);
    // Losers are logged as counter races or spent challenges, never as successes.
    const failures = await activityOf(user.id, 'sign_in_failed');
    expect(failures).toHaveLength(7);
    expect(failures.every((f) => ['counter_race', 'verification_failed'].includes((f.metadata as { reason: string }).reason))).toBe(true);
    // The seven failures count against this file's one client address: let them age out.
    t.clock.advance(FAILED_SIGN_INS_PER_IP.windowMs);
  });

  it('accepts authenticators that always report a zero counter', async () => {
    const { authenticator } = await accountWithPasskey();
    expect((await assertWith(authenticator, { counter: 0 })).status).toBe(200);
    expect((await assertWith(authenticator, { counter: 0 })).status).toBe(200);
  });

  it('refuses an unknown credential', async () => {
    const stranger = new SoftAuthenticator(ORIGIN);
    await stranger.register({
      challenge: 'AAAA',
      rp: { id: 'localhost', name: 'Auth' },
      user: { id: 'dW5rbm93bg', name: 'nobody', displayName: 'nobody' },
      pubKeyCredParams: [],
    });
    const res = await assertWith(stranger);
    expect(res.status).toBe(401);
  });

  it('refuses a bad signature and a user handle of another account', async () => {
    const { authenticator } = await accountWithPasskey();
    const assertion = await authenticator.authenticate(await authenticationOptions());
    const signature = Buffer.from(assertion.response.signature, 'base64url');
    signature[signature.length - 1]! ^= 0x01;
    assertion.response.signature = signature.toString('base64url');
    expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion })).status).toBe(401);

    const other = await t.signIn();
    const [otherUser] = await t.db.select().from(users).where(eq(users.id, other.user.id));
    const wrongHandle = await authenticator.authenticate(await authenticationOptions());
    wrongHandle.response.userHandle = otherUser!.webauthnUserId;
    expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: wrongHandle })).status).toBe(401);
  });

  it('refuses an expired challenge', async () => {
    const { authenticator } = await accountWithPasskey();
    const options = await authenticationOptions();
    t.clock.advance(5 * MINUTE);
    const res = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: await authenticator.authenticate(options) });
    expect(res.status).toBe(401);
  });

  it('refuses a registration challenge used for sign-in, and unreadable client data', async () => {
    const account = await accountWithPasskey();
    const registration = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const assertion = await account.authenticator.authenticate({ challenge: registration.body.challenge, rpId: 'localhost' });
    expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion })).status).toBe(401);

    const garbled = await account.authenticator.authenticate(await authenticationOptions());
    garbled.response.clientDataJSON = Buffer.from('not json').toString('base64url');
    expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: garbled })).status).toBe(401);
    const invalid = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: { id: 'x' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('invalid_request');
  });

  it('rate-limits sign-in options per client IP', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    for (let i = 0; i < OPTIONS_LIMIT_PER_IP.limit; i++) {
      expect((await t.request('POST', '/auth/passkeys/authenticate/options', { headers })).status).toBe(200);
    }
    const limited = await t.request('POST', '/auth/passkeys/authenticate/options', { headers });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await t.request('POST', '/auth/passkeys/authenticate/options', { headers: { 'x-forwarded-for': '203.0.113.8' } })).status).toBe(200);
  });

  it('logs failed passkey sign-ins as sign_in_failed warnings', async () => {
    const { authenticator, user } = await accountWithPasskey();
    await assertWith(authenticator, { origin: 'https://evil.example' });
    const logged = await activityOf(user.id, 'sign_in_failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ severity: 'warning', metadata: { method: 'passkey', reason: 'verification_failed' } });
  });
});

describe('sign-in tokens', () => {
  async function signInToken() {
    const account = await accountWithPasskey();
    const res = await assertWith(account.authenticator);
    expect(res.status).toBe(200);
    return { ...account, token: res.body.token as string };
  }

  it('are single-use', async () => {
    const { email, token } = await signInToken();
    const body = { method: 'passkey', email, token };
    expect((await t.request('POST', '/auth/sessions', { body })).status).toBe(201);
    const again = await t.request('POST', '/auth/sessions', { body });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_code');
  });

  it('are single-use under concurrent requests', async () => {
    const { email, token } = await signInToken();
    const body = { method: 'passkey', email, token };
    const results = await Promise.all(Array.from({ length: 5 }, () => t.request('POST', '/auth/sessions', { body })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401]);
  });

  it("work only with the account's email, and a wrong email burns them", async () => {
    const { email, token, user } = await signInToken();
    const wrong = await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: uniqueEmail(), token } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_code');
    expect((await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email, token } })).status).toBe(401);
    const logged = await activityOf(user.id, 'sign_in_failed');
    expect(logged[0]).toMatchObject({ severity: 'warning', metadata: { method: 'passkey', reason: 'email_mismatch' } });
  });

  it('expire after five minutes', async () => {
    const { email, token } = await signInToken();
    t.clock.advance(5 * MINUTE);
    expect((await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email, token } })).status).toBe(401);
  });

  it('cannot be made up', async () => {
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: uniqueEmail(), token: 'x'.repeat(43) } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_code');
  });
});

describe('deleting passkeys', () => {
  it('deletes one of the caller\'s passkeys and logs passkey_deleted', async () => {
    const { token, passkey, user, authenticator } = await accountWithPasskey();
    const res = await t.request('DELETE', `/auth/passkeys/${passkey.id}`, { token });
    expect(res.status).toBe(204);
    expect((await t.request('GET', '/auth/passkeys', { token })).body).toEqual({ passkeys: [] });
    const logged = await activityOf(user.id, 'passkey_deleted');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ severity: 'warning', metadata: { passkeyId: passkey.id } });
    expect((await assertWith(authenticator)).status).toBe(401);
  });

  it("answers 404 for another user's passkey, an unknown id and a malformed id", async () => {
    const owner = await accountWithPasskey();
    const other = await t.signIn();
    for (const id of [owner.passkey.id, '0190a5f0-0000-7000-8000-000000000000', 'not-an-id', 'x'.repeat(300)]) {
      const res = await t.request('DELETE', `/auth/passkeys/${id}`, { token: other.token });
      expect(res.status, id).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await t.request('GET', '/auth/passkeys', { token: owner.token })).body.passkeys).toHaveLength(1);
  });
});

describe('a session older than ten minutes', () => {
  it('must sign in again to register or delete a passkey', async () => {
    const account = await accountWithPasskey();
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const credential = await account.authenticator.register(options.body);
    t.clock.advance(10 * MINUTE + 1);

    for (const res of [
      await t.request('POST', '/auth/passkeys/register/options', { token: account.token }),
      await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: 'Late' } }),
      await t.request('DELETE', `/auth/passkeys/${account.passkey.id}`, { token: account.token }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('reauthentication_required');
    }
    // Reading stays allowed, and nothing changed.
    const list = await t.request('GET', '/auth/passkeys', { token: account.token });
    expect(list.status).toBe(200);
    expect(list.body.passkeys).toHaveLength(1);

    const fresh = await t.signIn(account.email);
    expect((await t.request('DELETE', `/auth/passkeys/${account.passkey.id}`, { token: fresh.token })).status).toBe(204);
  });
});
