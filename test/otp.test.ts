import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, otpCodes, users } from '../src/db/schema';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';
import { HOUR, MINUTE } from './helpers/clock';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
const attempt = (email: string, token: string, ip = '127.0.0.1') =>
  t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token }, headers: { 'x-forwarded-for': ip } });

describe('code storage', () => {
  it('mails a 6-digit code and stores only an HMAC of it', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    expect(code).toMatch(/^\d{6}$/);
    expect(t.mailer.outbox.at(-1)!.text).toContain(code);
    const [row] = await t.db.select().from(otpCodes).where(eq(otpCodes.email, email));
    expect(row!.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.codeHash).not.toContain(code);
    // Not a bare hash either: SHA-256 of the code (or of email+code) must not match.
    const bare = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(code));
    expect(row!.codeHash).not.toBe(Buffer.from(bare).toString('hex'));
  });

  it('answers the same for an unknown email and an existing account', async () => {
    const existing = await t.signIn();
    const a = await t.request('POST', '/auth/verify', { body: { email: existing.email } });
    const b = await t.request('POST', '/auth/verify', { body: { email: uniqueEmail() } });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(Object.keys(a.body)).toEqual(Object.keys(b.body));
  });

  it('does not create an account until a code is used', async () => {
    const email = uniqueEmail();
    await t.requestCode(email);
    expect(await t.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
  });
});

describe('brute force', () => {
  it('burns a code after 5 wrong tries: the right code is refused afterwards', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    for (let i = 0; i < 5; i++) {
      const res = await attempt(email, wrong(code));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_code');
    }
    const res = await attempt(email, code);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_code');
  });

  it('accepts the right code after 4 wrong tries', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    for (let i = 0; i < 4; i++) expect((await attempt(email, wrong(code))).status).toBe(401);
    expect((await attempt(email, code)).status).toBe(201);
  });

  it('refuses even a fresh code after 10 wrong tries in an hour, and lets it through an hour later', async () => {
    const email = uniqueEmail();
    for (let round = 0; round < 2; round++) {
      const code = await t.requestCode(email);
      for (let i = 0; i < 5; i++) expect((await attempt(email, wrong(code))).status).toBe(401);
    }
    const fresh = await t.requestCode(email);
    const refused = await attempt(email, fresh);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);

    t.clock.advance(HOUR);
    const later = await t.requestCode(email);
    expect((await attempt(email, later)).status).toBe(201);
  });

  it('does not let parallel guesses exceed 5 tries on one code', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    const guesses = await Promise.all(Array.from({ length: 9 }, () => attempt(email, wrong(code))));
    expect(guesses.every((g) => g.status === 401 || g.status === 429)).toBe(true);
    const [row] = await t.db.select().from(otpCodes).where(eq(otpCodes.email, email));
    expect(row!.attempts).toBe(5);
    expect((await attempt(email, code)).status).not.toBe(201);
  });

  it('records sign_in_failed on the account of the email', async () => {
    const s = await t.signIn();
    const code = await t.requestCode(s.email);
    await attempt(s.email, wrong(code));
    const rows = await t.db.select().from(activity).where(eq(activity.userId, s.user.id));
    const failed = rows.find((r) => r.action === 'sign_in_failed');
    expect(failed).toMatchObject({ severity: 'warning', metadata: { method: 'otp', reason: 'invalid_code' } });
  });
});

describe('send limits', () => {
  it('allows 5 codes per email per 15 minutes, then 429 with Retry-After and no mail', async () => {
    const email = uniqueEmail();
    for (let i = 0; i < 5; i++) expect((await t.request('POST', '/auth/verify', { body: { email } })).status).toBe(202);
    const mailed = t.mailer.outbox.filter((m) => m.to === email).length;
    const [before] = await t.db.select().from(otpCodes).where(eq(otpCodes.email, email));

    const res = await t.request('POST', '/auth/verify', { body: { email } });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('rate_limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(t.mailer.outbox.filter((m) => m.to === email)).toHaveLength(mailed);
    const [after] = await t.db.select().from(otpCodes).where(eq(otpCodes.email, email));
    expect(after!.codeHash).toBe(before!.codeHash);

    t.clock.advance(15 * MINUTE);
    expect((await t.request('POST', '/auth/verify', { body: { email } })).status).toBe(202);
  });

  it('limits sends per client IP across emails', async () => {
    const ip = '198.51.100.7';
    let status = 202;
    let sent = 0;
    while (status === 202 && sent < 150) {
      status = (await t.request('POST', '/auth/verify', { body: { email: uniqueEmail('ip') }, headers: { 'x-forwarded-for': ip } })).status;
      if (status === 202) sent++;
    }
    expect(sent).toBe(100);
    expect(status).toBe(429);
    // Another address is unaffected.
    const other = await t.request('POST', '/auth/verify', { body: { email: uniqueEmail() }, headers: { 'x-forwarded-for': '198.51.100.8' } });
    expect(other.status).toBe(202);
  });

  it('keeps counting correctly when many sends race', async () => {
    const email = uniqueEmail();
    const results = await Promise.all(Array.from({ length: 12 }, () => t.request('POST', '/auth/verify', { body: { email } })));
    expect(results.filter((r) => r.status === 202)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });
});

describe('RATE_LIMIT=off', () => {
  it('disables send limits but keeps the per-code and per-email guess limits', async () => {
    const off = await createTestContext({ RATE_LIMIT: 'off' });
    try {
      const email = uniqueEmail();
      for (let i = 0; i < 8; i++) expect((await off.request('POST', '/auth/verify', { body: { email } })).status).toBe(202);
      const code = off.lastCode(email);
      for (let i = 0; i < 5; i++) {
        await off.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: wrong(code) } });
      }
      const res = await off.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
      expect(res.status).toBe(401);
    } finally {
      await off.close();
    }
  });
});
