import { describe, expect, it } from 'vitest';
import { openPostgres } from '../src/db/postgres';
import { createTestContext } from './helpers/app';
import { createTestDatabase, driver } from './helpers/db';
import { startCountingRelay } from './helpers/pg-counter';

describe('prepared statements on PostgreSQL', () => {
  for (const prepare of [true, false]) {
    it.runIf(driver === 'postgres')(`${prepare ? 'parses a repeated statement once per connection' : 'parses every statement when off'}`, async () => {
      const database = await createTestDatabase();
      const relay = await startCountingRelay(new URL(database.url!));
      const { db, close } = openPostgres(relay.url, { max: 1, prepare });
      const t = await createTestContext({}, { database: { ...database, db } });
      try {
        // Sign-ins and a first session check prepare their statements; the repeated checks re-use them.
        const first = await t.signIn();
        await t.signIn(first.email);
        expect((await t.request('GET', '/auth/sessions/current', { token: first.token })).status).toBe(200);
        const parsesBefore = relay.count('P');
        const bindsBefore = relay.count('B');
        for (let i = 0; i < 5; i++) {
          const res = await t.request('GET', '/auth/sessions/current', { token: first.token });
          expect(res.status).toBe(200);
          expect(res.body.user.email).toBe(first.email);
        }
        expect(relay.count('B') - bindsBefore).toBe(5);
        expect(relay.count('P') - parsesBefore).toBe(prepare ? 0 : 5);
      } finally {
        await close();
        await t.close();
        await relay.close();
      }
    });
  }

  it.runIf(driver === 'postgres')('prepares the statements run inside a transaction too', async () => {
    const database = await createTestDatabase();
    const relay = await startCountingRelay(new URL(database.url!));
    const { db, close } = openPostgres(relay.url, { max: 1, prepare: true });
    const t = await createTestContext({}, { database: { ...database, db } });
    try {
      // The first sign-in creates the account, the second finds it: the third runs the second's
      // statements, in the same transactions, and none of them is parsed again.
      const { email } = await t.signIn();
      await t.signIn(email);
      const code = await t.requestCode(email);
      const parsesBefore = relay.count('P');
      const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
      expect(res.status).toBe(201);
      expect(relay.count('P') - parsesBefore).toBe(0);
    } finally {
      await close();
      await t.close();
      await relay.close();
    }
  });
});
