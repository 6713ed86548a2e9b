import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otpCodes, passkeys, profiles, sessions, signInTokens, users, webauthnChallenges } from '../../src/db/schema';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext, type TestResponse } from '../helpers/app';
import { driver } from '../helpers/db';
import { SoftAuthenticator } from '../helpers/webauthn';

// Fifty concurrent requests race for one thing each; the contract says who may win. Every
// request comes from an address of its own, so that no per-IP limit decides the outcome.
const N = 50;
let t: TestContext;
let ips = 0;
const ip = () => ({ 'x-forwarded-for': `203.0.113.${++ips % 250}` });
const held: string[] = [];

beforeAll(async () => {
  t = await createTestContext();
});
afterAll(async () => {
  console.log(`races (${driver}): ${held.length} races of ${N} concurrent requests held: ${held.join('; ')}`);
  await t.close();
});

async function signIn(email = uniqueEmail('race')) {
  const code = await t.requestCode(email, ip());
  const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code }, headers: ip() });
  expect(res.status).toBe(201);
  return { ...(res.body as { token: string; user: { id: string; email: string }; session: { id: string } }), email };
}

/** `{ 201: 1, 401: 49 }` */
function tally(answers: TestResponse[]): Record<number, number> {
  const byStatus: Record<number, number> = {};
  for (const { status } of answers) byStatus[status] = (byStatus[status] ?? 0) + 1;
  return byStatus;
}

const rows = async (query: Promise<{ n: number }[]>) => (await query)[0]!.n;

async function accountWithPasskey() {
  const account = await signIn();
  const authenticator = new SoftAuthenticator(ORIGIN);
  const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
  const credential = await authenticator.register(options.body);
  const registered = await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: 'Key' } });
  expect(registered.status).toBe(201);
  return { ...account, authenticator };
}

async function assertion(authenticator: SoftAuthenticator) {
  const options = await t.request('POST', '/auth/passkeys/authenticate/options', { headers: ip() });
  expect(options.status).toBe(200);
  return authenticator.authenticate(options.body);
}

describe(`${N} concurrent requests`, () => {
  it('spend one emailed code once: exactly one 201', async () => {
    const email = uniqueEmail('race-otp');
    const code = await t.requestCode(email, ip());
    const answers = await Promise.all(
      Array.from({ length: N }, () => t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code }, headers: ip() })),
    );
    const byStatus = tally(answers);
    expect(byStatus[201]).toBe(1);
    // The losers: the code is gone (401) or the email's guess budget is spent (429).
    for (const status of Object.keys(byStatus).map(Number)) expect([201, 401, 429]).toContain(status);

    const [user] = await t.db.select().from(users).where(eq(users.email, email));
    expect(await rows(t.db.select({ n: count() }).from(users).where(eq(users.email, email)))).toBe(1);
    expect(await rows(t.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, user!.id)))).toBe(1);
    expect(await rows(t.db.select({ n: count() }).from(otpCodes).where(eq(otpCodes.email, email)))).toBe(0);
    held.push(`one code → ${JSON.stringify(byStatus)}`);
  });

  it('spend one passkey sign-in token once: exactly one 201', async () => {
    const account = await accountWithPasskey();
    const verified = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: await assertion(account.authenticator), headers: ip() });
    expect(verified.status).toBe(200);
    const before = await rows(t.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, account.user.id)));

    const answers = await Promise.all(
      Array.from({ length: N }, () =>
        t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: account.email, token: verified.body.token }, headers: ip() }),
      ),
    );
    const byStatus = tally(answers);
    expect(byStatus).toEqual({ 201: 1, 401: N - 1 });
    expect(answers.filter((a) => a.status === 401).every((a) => a.body.error.code === 'invalid_code')).toBe(true);

    const created = await t.db.select().from(sessions).where(and(eq(sessions.userId, account.user.id), eq(sessions.method, 'passkey')));
    expect(created).toHaveLength(1);
    expect(await rows(t.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, account.user.id)))).toBe(before + 1);
    expect(await rows(t.db.select({ n: count() }).from(signInTokens).where(eq(signInTokens.userId, account.user.id)))).toBe(0);
    held.push(`one passkey token → ${JSON.stringify(byStatus)}`);
  });

  it('answer one WebAuthn authentication challenge once: exactly one sign-in token', async () => {
    const account = await accountWithPasskey();
    const response = await assertion(account.authenticator);
    const answers = await Promise.all(
      Array.from({ length: N }, () => t.request('POST', '/auth/passkeys/authenticate/verify', { body: response, headers: ip() })),
    );
    const byStatus = tally(answers);
    expect(byStatus).toEqual({ 200: 1, 401: N - 1 });
    expect(await rows(t.db.select({ n: count() }).from(signInTokens).where(eq(signInTokens.userId, account.user.id)))).toBe(1);
    const challenge = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString()).challenge;
    expect(await rows(t.db.select({ n: count() }).from(webauthnChallenges).where(eq(webauthnChallenges.challenge, challenge)))).toBe(0);
    held.push(`one authentication challenge → ${JSON.stringify(byStatus)}`);
  });

  it('answer one WebAuthn registration challenge once: exactly one passkey', async () => {
    const account = await signIn();
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    // Fifty different authenticators answer the same challenge.
    const credentials = await Promise.all(Array.from({ length: N }, () => new SoftAuthenticator(ORIGIN).register(options.body)));
    const answers = await Promise.all(
      credentials.map((credential, i) =>
        t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: `Key ${i}` } }),
      ),
    );
    const byStatus = tally(answers);
    expect(byStatus).toEqual({ 201: 1, 400: N - 1 });
    expect(answers.filter((a) => a.status === 400).every((a) => a.body.error.code === 'invalid_passkey')).toBe(true);
    expect(await rows(t.db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, account.user.id)))).toBe(1);
    held.push(`one registration challenge → ${JSON.stringify(byStatus)}`);
  });

  it('revoke a session while 49 requests use it: every use after the 204 is 401, never a 500', async () => {
    const victim = await signIn();
    const other = await signIn(victim.email);
    const use = () => t.request('GET', '/auth/sessions/current', { token: victim.token });

    // Half the uses race the revocation; the other half leave the moment its 204 arrives.
    const first = Array.from({ length: 24 }, use);
    const revoke = t.request('DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token });
    const second = revoke.then(() => Promise.all(Array.from({ length: N - 1 - 24 }, use)));
    const [racing, revoked, after] = await Promise.all([Promise.all(first), revoke, second]);

    expect(revoked.status).toBe(204);
    for (const answer of racing) expect([200, 401]).toContain(answer.status);
    expect(tally(after)).toEqual({ 401: N - 1 - 24 });
    expect(after.every((a) => a.body.error.code === 'unauthorized')).toBe(true);
    expect((await use()).status).toBe(401);
    expect(await rows(t.db.select({ n: count() }).from(sessions).where(eq(sessions.id, victim.session.id)))).toBe(0);
    expect((await t.request('GET', '/auth/sessions/current', { token: other.token })).status).toBe(200);
    held.push(`revoke vs 49 uses → racing ${JSON.stringify(tally(racing))}, after the 204 ${JSON.stringify(tally(after))}`);
  });

  it('create profiles past the limit: exactly five exist, one primary', async () => {
    const account = await signIn();
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.request('POST', '/identities', { token: account.token, body: { displayName: `Profile ${i}`, handle: `limit_${ips}_${i}` } }),
      ),
    );
    const byStatus = tally(answers);
    expect(byStatus).toEqual({ 201: 5, 400: N - 5 });
    expect(answers.filter((a) => a.status === 400).every((a) => a.body.error.code === 'identity_limit')).toBe(true);
    const owned = await t.db.select().from(profiles).where(eq(profiles.userId, account.user.id));
    expect(owned).toHaveLength(5);
    expect(owned.filter((p) => p.isPrimary)).toHaveLength(1);
    held.push(`profile limit → ${JSON.stringify(byStatus)}`);
  });

  it('create one handle for fifty users: exactly one 201, the rest 400 handle_taken', async () => {
    const accounts = [];
    for (let i = 0; i < N; i++) accounts.push(await signIn());
    const handle = `Taken_${Date.now().toString(36)}`;
    const answers = await Promise.all(
      accounts.map((account) => t.request('POST', '/identities', { token: account.token, body: { displayName: 'Me', handle } })),
    );
    const byStatus = tally(answers);
    expect(byStatus).toEqual({ 201: 1, 400: N - 1 });
    expect(answers.filter((a) => a.status === 400).every((a) => a.body.error.code === 'handle_taken')).toBe(true);
    expect(await rows(t.db.select({ n: count() }).from(profiles).where(eq(profiles.handle, handle.toLowerCase())))).toBe(1);
    held.push(`one handle → ${JSON.stringify(byStatus)}`);
  });
});
