import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../src/db/postgres';
import { rateLimits } from '../src/db/schema';
import { checkCode, spendCode } from '../src/domain/otp/otp';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';
import { createTestDatabase, driver } from './helpers/db';
import { startCountingRelay } from './helpers/pg-counter';

const budgetHits = async (t: TestContext, email: string) =>
  (await t.db.select().from(rateLimits).where(eq(rateLimits.key, `otp-verify:email:${email}`)))[0]?.hits.length ?? 0;

describe('spending a code', () => {
  it('clears the email budget in the statement that spends the code, and only when it spends it', async () => {
    const t = await createTestContext();
    try {
      const email = uniqueEmail();
      const code = await t.requestCode(email);
      const wrong = code === '000000' ? '111111' : '000000';
      expect((await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: wrong } })).status).toBe(401);
      const checked = await checkCode(t.deps, email, code);
      expect(checked.ok).toBe(true);
      if (!checked.ok) return;
      expect(await budgetHits(t, email)).toBe(2);

      // A match whose code was replaced meanwhile spends nothing and leaves the budget alone.
      expect(await spendCode(t.deps, { email, codeHash: 'f'.repeat(64) })).toMatchObject({ ok: false, code: 'invalid_code' });
      expect(await budgetHits(t, email)).toBe(2);

      expect(await spendCode(t.deps, checked.matched)).toEqual({ ok: true });
      expect(await budgetHits(t, email)).toBe(0);
      // Spent once only.
      expect(await spendCode(t.deps, checked.matched)).toMatchObject({ ok: false, code: 'invalid_code' });
    } finally {
      await t.close();
    }
  });
});

describe('statements of a code sign-in, on the wire', () => {
  for (const rateLimit of ['off', 'on']) {
    it.runIf(driver === 'postgres')(`RATE_LIMIT=${rateLimit}: ${rateLimit === 'off' ? 'only the email guess budget' : 'every limit'} touches rate_limits`, async () => {
      const database = await createTestDatabase();
      const relay = await startCountingRelay(new URL(database.url!));
      // Unnamed statements, so that every statement's text crosses the wire.
      const { db, close } = openPostgres(relay.url, { max: 1 });
      const t = await createTestContext(rateLimit === 'off' ? { RATE_LIMIT: 'off' } : {}, { database: { ...database, db } });
      try {
        const email = uniqueEmail();
        const limits = () => relay.statements().filter((text) => text.includes('"rate_limits"'));
        const before = limits().length;
        const code = await t.requestCode(email);
        const sent = limits().length - before;
        const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
        expect(res.status).toBe(201);
        const signedIn = limits().length - before - sent;
        // The send limits (email, client IP) and the client's failure slot (taken, then given back)
        // are skipped with RATE_LIMIT=off; the email's guess budget is hit, and cleared by the spend.
        expect({ sent, signedIn }).toEqual(rateLimit === 'off' ? { sent: 0, signedIn: 2 } : { sent: 2, signedIn: 4 });
        expect(limits().at(-1 - (rateLimit === 'on' ? 1 : 0))).toMatch(/^with "spent" as \(delete from "otp_codes"/);
      } finally {
        await close();
        await t.close();
        await relay.close();
      }
    });
  }
});
