import { and, eq, getTableColumns, isTable, sql } from 'drizzle-orm';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../src/db/schema';
import { activity, emailChangeCodes, identityDatabases, oauthCodes, oauthGrants, oauthRefreshTokens, users } from '../src/db/schema';
import { purgeExpired } from '../src/domain/maintenance';
import { createMemorySessionCache } from '../src/ports/session-cache';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from './helpers/app';
import { MINUTE } from './helpers/clock';
import { SoftAuthenticator } from './helpers/webauthn';

const ADMIN = 'account-admin@example.com';
const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ ADMIN_EMAILS: ADMIN });
});
afterAll(() => t.close());

/** The newest mail to `to`. */
const lastMail = (to: string) => t.mailer.outbox.findLast((m) => m.to === to);
const actions = async (userId: string) =>
  (await t.db.select({ action: activity.action }).from(activity).where(eq(activity.userId, userId))).map((r) => r.action);

async function requestChange(token: string, email: string, headers?: Record<string, string>) {
  return t.request('POST', '/auth/account/email', { token, body: { email }, headers });
}

describe('changing the email address', () => {
  it('moves the account to a proven new address; the old one signs up anew', async () => {
    const account = await t.signIn();
    const newEmail = uniqueEmail('moved');
    const asked = await requestChange(account.token, ` ${newEmail.toUpperCase()} `, { 'user-agent': CHROME_MAC });
    expect(asked.status).toBe(202);
    expect(Date.parse(asked.body.expiresAt)).toBe(t.clock.now().getTime() + 10 * MINUTE);
    const mail = lastMail(newEmail)!;
    expect(mail.subject).toMatch(/^Confirm your new Auth email: \d{6}$/);
    expect(mail.html).toContain(newEmail);
    const code = t.lastCode(newEmail);

    const done = await t.request('POST', '/auth/account/email/verify', {
      token: account.token,
      body: { email: newEmail, token: code },
      headers: { 'user-agent': CHROME_MAC },
    });
    expect(done.status).toBe(200);
    expect(done.body.user).toMatchObject({ id: account.user.id, identity: account.user.identity, email: newEmail });
    expect((await t.request('GET', '/auth/sessions/current', { token: account.token })).body.user.email).toBe(newEmail);

    // The old address hears of it, from which device, with no link.
    const notice = lastMail(account.email)!;
    expect(notice.subject).toBe('Your Auth email address was changed');
    expect(notice.text).toContain(`now uses ${newEmail} instead of ${account.email}`);
    expect(notice.text).toContain('Device: Chrome on macOS');
    expect(`${notice.text}${notice.html}`).not.toMatch(/https?:\/\/|href=/);

    expect(await actions(account.user.id)).toEqual(expect.arrayContaining(['email_change_requested', 'email_changed']));
    const [changed] = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, account.user.id), eq(activity.action, 'email_changed')));
    expect(changed!.metadata).toEqual({ from: account.email, to: newEmail });

    // Codes for the new address sign into this account; the old address makes a new one.
    const again = await t.signIn(newEmail);
    expect(again.user.id).toBe(account.user.id);
    const fresh = await t.signIn(account.email);
    expect(fresh.user.id).not.toBe(account.user.id);
    expect(fresh.user.identity).not.toBe(account.user.identity);
  });

  it('keeps change codes and sign-in codes apart', async () => {
    const account = await t.signIn();
    const newEmail = uniqueEmail('apart');
    await requestChange(account.token, newEmail);
    const changeCode = t.lastCode(newEmail);
    // A change code does not sign anyone in…
    const signIn = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email: newEmail, token: changeCode } });
    expect(signIn.status).toBe(401);
    // …and a sign-in code for the address does not prove it for the change.
    const signInCode = await t.requestCode(newEmail);
    const wrongKind = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: signInCode } });
    expect(wrongKind.status).toBe(signInCode === changeCode ? 200 : 401);
    if (signInCode !== changeCode) {
      expect(wrongKind.body.error.code).toBe('invalid_code');
      // Both codes still work for what they are for.
      const changed = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: changeCode } });
      expect(changed.status).toBe(200);
      const signedIn = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email: newEmail, token: signInCode } });
      expect(signedIn.status).toBe(201);
      expect(signedIn.body.user.id).toBe(account.user.id);
    }
  });

  it('binds the code to the account and the address it was sent for', async () => {
    const account = await t.signIn();
    const other = await t.signIn();
    const newEmail = uniqueEmail('bound');
    await requestChange(account.token, newEmail);
    const code = t.lastCode(newEmail);
    const byOther = await t.request('POST', '/auth/account/email/verify', { token: other.token, body: { email: newEmail, token: code } });
    expect(byOther.status).toBe(401);
    const otherAddress = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: uniqueEmail(), token: code } });
    expect(otherAddress.status).toBe(401);
    // A new request replaces the earlier code.
    await requestChange(account.token, newEmail);
    const replaced = t.lastCode(newEmail);
    if (replaced !== code) {
      const old = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: code } });
      expect(old.status).toBe(401);
    }
    const ok = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: replaced } });
    expect(ok.status).toBe(200);
    // Spent: a second use fails.
    const reused = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: replaced } });
    expect(reused.status).toBe(401);
    expect(await t.db.select().from(emailChangeCodes).where(eq(emailChangeCodes.userId, account.user.id))).toHaveLength(0);
  });

  it('spends a code once under concurrent verifies', async () => {
    const account = await t.signIn();
    const newEmail = uniqueEmail('race');
    await requestChange(account.token, newEmail);
    const code = t.lastCode(newEmail);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: code } })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401, 401]);
    const changed = await t.db.select().from(activity).where(and(eq(activity.userId, account.user.id), eq(activity.action, 'email_changed')));
    expect(changed).toHaveLength(1);
  });

  it('burns a code after 5 wrong tries', async () => {
    const account = await t.signIn();
    const newEmail = uniqueEmail('burn');
    await requestChange(account.token, newEmail);
    const code = t.lastCode(newEmail);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: wrong } });
      expect(res.status).toBe(401);
    }
    const late = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: code } });
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe('invalid_code');
  });

  it('expires a code after 10 minutes, and the purge removes it', async () => {
    const account = await t.signIn();
    const newEmail = uniqueEmail('expire');
    await requestChange(account.token, newEmail);
    const code = t.lastCode(newEmail);
    t.clock.advance(10 * MINUTE);
    const res = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: code } });
    expect(res.status).toBe(401);
    await purgeExpired(t.deps);
    expect(await t.db.select().from(emailChangeCodes).where(eq(emailChangeCodes.userId, account.user.id))).toHaveLength(0);
  });

  it('refuses an address another account owns with 409 email_taken, on both steps', async () => {
    const owner = await t.signIn();
    const account = await t.signIn();
    const asked = await requestChange(account.token, owner.email);
    expect(asked.status).toBe(409);
    expect(asked.body.error.code).toBe('email_taken');
    expect(lastMail(owner.email)?.subject ?? '').not.toMatch(/Confirm/);

    // Taken between the two steps: someone signed up with the address meanwhile.
    const contested = uniqueEmail('contested');
    await requestChange(account.token, contested);
    const code = t.lastCode(contested);
    await t.signIn(contested);
    const late = await t.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: contested, token: code } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('email_taken');
    expect((await t.request('GET', '/auth/sessions/current', { token: account.token })).body.user.email).toBe(account.email);
  });

  it('needs a fresh session to start, and a valid address that is not already the account’s', async () => {
    const account = await t.signIn();
    expect((await requestChange(account.token, account.email)).status).toBe(400);
    expect((await requestChange(account.token, 'not an email')).status).toBe(400);
    expect((await t.request('POST', '/auth/account/email', { body: { email: uniqueEmail() } })).status).toBe(401);
    t.clock.advance(11 * MINUTE);
    const stale = await requestChange(account.token, uniqueEmail());
    expect(stale.status).toBe(403);
    expect(stale.body.error.code).toBe('reauthentication_required');
  });

  it('shares the send limit per address with sign-in codes: 429 with Retry-After', async () => {
    const account = await t.signIn();
    const newEmail = uniqueEmail('limit');
    for (let i = 0; i < 5; i++) expect((await t.request('POST', '/auth/verify', { body: { email: newEmail } })).status).toBe(202);
    const limited = await requestChange(account.token, newEmail);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('evicts the cached sessions of the account after the change', async () => {
    const cache = createMemorySessionCache({ ttlMs: 60_000, maxEntries: 100, now: () => performance.now() });
    const c = await createTestContext({}, { sessionCache: cache });
    try {
      const account = await c.signIn();
      expect((await c.request('GET', '/auth/sessions/current', { token: account.token })).body.user.email).toBe(account.email);
      const newEmail = uniqueEmail('cached');
      await c.request('POST', '/auth/account/email', { token: account.token, body: { email: newEmail } });
      const verified = await c.request('POST', '/auth/account/email/verify', { token: account.token, body: { email: newEmail, token: c.lastCode(newEmail) } });
      expect(verified.status).toBe(200);
      expect((await c.request('GET', '/auth/sessions/current', { token: account.token })).body.user.email).toBe(newEmail);
    } finally {
      await c.close();
    }
  });
});

/** Every table with a `user_id` column, read from the schema (OIDC and activity included). */
function tablesWithUserId(): { name: string; table: PgTable }[] {
  return (Object.values(schema) as unknown[])
    .filter((value): value is PgTable => isTable(value))
    .filter((table) => Object.values(getTableColumns(table)).some((column) => column.name === 'user_id'))
    .map((table) => ({ name: getTableConfig(table).name, table }));
}

async function rowsReferencing(userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { name } of tablesWithUserId()) {
    const rows = await t.db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(name)} where user_id = ${userId}`);
    counts[name] = Number((rows as unknown as { rows?: { n: number }[] }).rows?.[0]?.n ?? (rows as unknown as { n: number }[])[0]?.n);
  }
  const [user] = await t.db.select({ n: sql<number>`count(*)::int` }).from(users).where(eq(users.id, userId));
  counts.users = Number(user!.n);
  return counts;
}

/** An account that owns one of everything: passkey, profile, database, OIDC code/grant/refresh token, a pending email change. */
async function accountOwningEverything() {
  const account = await t.signIn();
  const authenticator = new SoftAuthenticator(ORIGIN);
  const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
  expect((await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: await authenticator.register(options.body) })).status).toBe(201);
  // A passkey sign-in token and challenge left unused.
  const auth = await t.request('POST', '/auth/passkeys/authenticate/options');
  expect((await t.request('POST', '/auth/passkeys/authenticate/verify', { body: await authenticator.authenticate(auth.body) })).status).toBe(200);
  await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
  expect((await t.request('POST', '/identities', { token: account.token, body: { displayName: 'Ada', handle: `ada_${crypto.randomUUID().slice(0, 8)}` } })).status).toBe(201);
  const address = crypto.randomUUID().replace(/-/g, '');
  expect((await t.request('PUT', `/v1/identity/${account.user.identity}/databases/${address}`, { token: account.token })).status).toBe(204);
  expect((await requestChange(account.token, uniqueEmail('pending'))).status).toBe(202);
  // OIDC rows as the provider writes them (its routes are built elsewhere).
  const now = t.clock.now();
  const grantId = crypto.randomUUID();
  await t.db.insert(oauthGrants).values({ id: grantId, clientId: 'app', userId: account.user.id, sessionId: account.session.id, scope: 'openid offline_access', createdAt: now });
  await t.db.insert(oauthRefreshTokens).values({ tokenHash: `h-${grantId}`, grantId, createdAt: now });
  await t.db.insert(oauthCodes).values({
    codeHash: `c-${grantId}`,
    clientId: 'app',
    redirectUri: 'https://app.example/cb',
    scope: 'openid',
    codeChallenge: 'x'.repeat(43),
    userId: account.user.id,
    sessionId: account.session.id,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 60_000),
  });
  return { ...account, grantId, address };
}

describe('deleting the account', () => {
  it('finds every table that references an account', () => {
    expect(tablesWithUserId().map((t) => t.name).sort()).toEqual(
      expect.arrayContaining(['activity', 'email_change_codes', 'identity_databases', 'oauth_codes', 'oauth_grants', 'passkeys', 'profiles', 'sessions', 'sign_in_tokens', 'webauthn_challenges']),
    );
  });

  it('deletes everything the account owns in one go; activity stays, anonymised', async () => {
    const account = await accountOwningEverything();
    const before = await rowsReferencing(account.user.id);
    for (const name of ['users', 'sessions', 'passkeys', 'profiles', 'identity_databases', 'oauth_grants', 'oauth_codes', 'email_change_codes', 'sign_in_tokens', 'webauthn_challenges', 'activity']) {
      expect(before[name], name).toBeGreaterThan(0);
    }
    const activityIds = (await t.db.select({ id: activity.id }).from(activity).where(eq(activity.userId, account.user.id))).map((r) => r.id);

    const res = await t.request('DELETE', '/auth/account', { token: account.token, headers: { 'user-agent': CHROME_MAC } });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/^session=;/);

    // No row of any table references the account any more.
    expect(Object.values(await rowsReferencing(account.user.id)).every((n) => n === 0), JSON.stringify(await rowsReferencing(account.user.id))).toBe(true);
    expect(await t.db.select().from(oauthRefreshTokens).where(eq(oauthRefreshTokens.grantId, account.grantId))).toHaveLength(0);
    expect(await t.db.select().from(identityDatabases).where(eq(identityDatabases.address, account.address))).toHaveLength(0);

    // Its activity rows are still there, with no account, IP, user agent or address.
    const kept = await t.db.select().from(activity).where(sql`${activity.id} in ${activityIds}`);
    expect(kept).toHaveLength(activityIds.length);
    for (const row of kept) {
      expect(row.userId).toBeNull();
      expect(row.ipAddress).toBeNull();
      expect(row.userAgent).toBeNull();
      expect(JSON.stringify(row.metadata)).not.toContain('@');
      expect(row.metadata).not.toHaveProperty('handle');
      expect(row.metadata).not.toHaveProperty('name');
    }
    expect(kept.map((r) => r.action)).toEqual(expect.arrayContaining(['session_created', 'passkey_registered', 'email_change_requested']));

    // The token is dead; the address hears of it; and it can sign up again as a new account.
    expect((await t.request('GET', '/auth/sessions/current', { token: account.token })).status).toBe(401);
    const notice = lastMail(account.email)!;
    expect(notice.subject).toBe('Your Auth account was deleted');
    expect(notice.text).toContain('Device: Chrome on macOS');
    expect(`${notice.text}${notice.html}`).not.toMatch(/https?:\/\/|href=/);
    const again = await t.signIn(account.email);
    expect(again.user.id).not.toBe(account.user.id);
    expect(again.user.identity).not.toBe(account.user.identity);
    expect((await t.request('GET', '/auth/passkeys', { token: again.token })).body.passkeys).toEqual([]);
    expect((await t.request('GET', '/identities', { token: again.token })).body.identities).toEqual([]);
  });

  it('needs a fresh session: 403 reauthentication_required, and nothing is deleted', async () => {
    const account = await t.signIn();
    t.clock.advance(11 * MINUTE);
    const res = await t.request('DELETE', '/auth/account', { token: account.token });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('reauthentication_required');
    expect((await t.request('GET', '/auth/sessions/current', { token: account.token })).status).toBe(200);
    expect((await t.request('DELETE', '/auth/account')).status).toBe(401);
  });

  it('refuses a cookie-authenticated deletion from a foreign origin (CSRF)', async () => {
    const account = await t.signIn();
    const res = await t.request('DELETE', '/auth/account', { headers: { cookie: `session=${account.token}`, origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect((await t.request('GET', '/auth/sessions/current', { token: account.token })).status).toBe(200);
  });

  it('lets an admin delete a user (users:write), logged as account_deleted on the admin’s activity', async () => {
    const admin = await t.signIn(ADMIN);
    const user = await accountOwningEverything();
    const other = await t.signIn();
    expect((await t.request('DELETE', `/admin/users/${user.user.id}`, { token: other.token })).status).toBe(403);

    const res = await t.request('DELETE', `/admin/users/${user.user.id}`, { token: admin.token });
    expect(res.status).toBe(204);
    expect(Object.values(await rowsReferencing(user.user.id)).every((n) => n === 0)).toBe(true);
    expect((await t.request('GET', '/auth/sessions/current', { token: user.token })).status).toBe(401);
    const [logged] = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, admin.user.id), eq(activity.action, 'account_deleted')));
    expect(logged).toMatchObject({ severity: 'critical', metadata: { userId: user.user.id, identity: user.user.identity } });
    expect(lastMail(user.email)!.text).toContain('An administrator');

    expect((await t.request('DELETE', `/admin/users/${user.user.id}`, { token: admin.token })).status).toBe(404);
    expect((await t.request('DELETE', '/admin/users/nope', { token: admin.token })).status).toBe(404);
  });

  it('evicts the cached sessions of the account', async () => {
    const cache = createMemorySessionCache({ ttlMs: 60_000, maxEntries: 100, now: () => performance.now() });
    const c = await createTestContext({}, { sessionCache: cache });
    try {
      const account = await c.signIn();
      expect((await c.request('GET', '/auth/sessions/current', { token: account.token })).status).toBe(200);
      expect(cache.get(account.session.id)).toBeDefined();
      expect((await c.request('DELETE', '/auth/account', { token: account.token })).status).toBe(204);
      expect(cache.get(account.session.id)).toBeUndefined();
      expect((await c.request('GET', '/auth/sessions/current', { token: account.token })).status).toBe(401);
    } finally {
      await c.close();
    }
  });
});
