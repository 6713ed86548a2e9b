import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, otpCodes, sessions, signInTokens, users } from '../src/db/schema';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from './helpers/app';
import { SoftAuthenticator } from './helpers/webauthn';

/**
 * A sign-in is one transaction: when its last step fails, nothing of it is left. The failure is
 * a real one: a CHECK constraint added to the test's own database refuses the row.
 */
let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

/** Adds a constraint that refuses new rows (existing ones are not checked), runs `body`, drops it. */
async function refusing(table: string, check: string, body: () => Promise<void>) {
  await t.db.execute(sql.raw(`alter table ${table} add constraint refuse_in_test check (${check}) not valid`));
  try {
    await body();
  } finally {
    await t.db.execute(sql.raw(`alter table ${table} drop constraint refuse_in_test`));
  }
}

const rows = async () => ({
  users: (await t.db.select({ n: count() }).from(users))[0]!.n,
  sessions: (await t.db.select({ n: count() }).from(sessions))[0]!.n,
  activity: (await t.db.select({ n: count() }).from(activity))[0]!.n,
});

describe('one transaction per sign-in', () => {
  it('a first code sign-in whose activity row fails leaves no account, no session, no activity, and the code unspent', async () => {
    const email = uniqueEmail('rollback');
    const code = await t.requestCode(email);
    const before = await rows();

    await refusing('activity', "action <> 'session_created'", async () => {
      const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('internal_error');
    });

    expect(await rows()).toEqual(before);
    expect(await t.db.select().from(users).where(eq(users.email, email))).toEqual([]);
    const [live] = await t.db.select().from(otpCodes).where(eq(otpCodes.email, email));
    expect(live, 'the code is still there').toBeDefined();
    expect(live!.attempts, 'the try stays spent: it was reserved and committed before the sign-in').toBe(1);

    // The same code still signs in, once.
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(email);
    const after = await rows();
    expect(after).toEqual({ users: before.users + 1, sessions: before.sessions + 1, activity: before.activity + 1 });
    expect((await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } })).status).toBe(401);
  });

  it('a passkey sign-in whose session insert fails leaves no session, no activity, and the token unspent', async () => {
    const account = await t.signIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const registered = await t.request('POST', '/auth/passkeys/register/verify', {
      token: account.token,
      body: { ...(await authenticator.register(options.body)), name: 'Key' },
    });
    expect(registered.status).toBe(201);
    const assertion = await authenticator.authenticate((await t.request('POST', '/auth/passkeys/authenticate/options')).body);
    const earned = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion });
    expect(earned.status).toBe(200);
    const body = { method: 'passkey', email: account.email, token: earned.body.token };
    const before = await rows();

    await refusing('sessions', "method <> 'passkey'", async () => {
      const res = await t.request('POST', '/auth/sessions', { body });
      expect(res.status).toBe(500);
    });

    expect(await rows()).toEqual(before);
    expect(await t.db.select().from(signInTokens).where(eq(signInTokens.userId, account.user.id))).toHaveLength(1);

    const res = await t.request('POST', '/auth/sessions', { body });
    expect(res.status).toBe(201);
    expect(res.body.session.method).toBe('passkey');
    expect(await rows()).toEqual({ ...before, sessions: before.sessions + 1, activity: before.activity + 1 });
    expect(await t.db.select().from(signInTokens).where(eq(signInTokens.userId, account.user.id))).toEqual([]);
  });

  it('a passkey token offered with another email is burnt and logged, and opens no session', async () => {
    const account = await t.signIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    await t.request('POST', '/auth/passkeys/register/verify', {
      token: account.token,
      body: { ...(await authenticator.register(options.body)), name: 'Key' },
    });
    const assertion = await authenticator.authenticate((await t.request('POST', '/auth/passkeys/authenticate/options')).body);
    const earned = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion });
    const before = await rows();

    const wrong = await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: uniqueEmail(), token: earned.body.token } });
    expect(wrong.status).toBe(401);
    expect(await rows()).toEqual({ ...before, activity: before.activity + 1 });
    const [logged] = await t.db.select().from(activity).where(eq(activity.action, 'sign_in_failed')).orderBy(sql`${activity.id} desc`).limit(1);
    expect(logged).toMatchObject({ userId: account.user.id, metadata: { method: 'passkey', reason: 'email_mismatch' } });
    const right = await t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: account.email, token: earned.body.token } });
    expect(right.status, 'the spend was committed').toBe(401);
  });
});
