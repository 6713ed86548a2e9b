import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions, users } from '../../../src/db/schema';
import { uniqueEmail } from '../../helpers/app';
import type { TestDatabase } from '../../helpers/db';
import type { RunningServer } from '../../helpers/server';
import { call, startServerPair, type ServerPair } from './pair';

// Two real server processes on one PostgreSQL database, as a deployment behind a load balancer
// runs them: the same AUTH_SECRET and signing key, mail through one SMTP server. Whatever one
// process counts or spends, the other must see.
let pair: ServerPair;
let database: TestDatabase;
let smtp: ServerPair['smtp'];
let a: RunningServer;
let b: RunningServer;
const figures: string[] = [];

beforeAll(async () => {
  pair = await startServerPair();
  ({ database, smtp, a, b } = pair);
});
afterAll(async () => {
  console.log(`two processes on one PostgreSQL: ${figures.join('; ')}`);
  await pair?.stop();
});

/** The code in the newest mail to `email` once there are `count` of them. */
async function codeFor(email: string, count = 1): Promise<string> {
  await smtp.waitFor(email);
  const deadline = Date.now() + 15_000;
  let mails = smtp.mails.filter((m) => m.to.includes(email));
  while (mails.length < count) {
    if (Date.now() > deadline) throw new Error(`no mail #${count} for ${email} within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    mails = smtp.mails.filter((m) => m.to.includes(email));
  }
  return mails[count - 1]!.text.match(/\b(\d{6})\b/)![1]!;
}

async function signIn(server: RunningServer, email = uniqueEmail('two')) {
  const sent = smtp.mails.filter((m) => m.to.includes(email)).length;
  expect((await call(server, 'POST', '/auth/verify', { body: { email } })).status).toBe(202);
  const res = await call(server, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: await codeFor(email, sent + 1) } });
  expect(res.status).toBe(201);
  return { ...(res.body as { token: string; session: { id: string }; user: { id: string } }), email };
}

describe('two server processes on one PostgreSQL', () => {
  it('spend one code once across both: fifty sign-ins, half to each, one 201', async () => {
    const email = uniqueEmail('two-code');
    expect((await call(a, 'POST', '/auth/verify', { body: { email } })).status).toBe(202);
    const code = await codeFor(email);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(i % 2 ? b : a, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: code } })),
    );
    const won = answers.filter((r) => r.status === 201);
    expect(won).toHaveLength(1);
    for (const r of answers) expect([201, 401, 429]).toContain(r.status);
    const [user] = await database.db.select().from(users).where(eq(users.email, email));
    expect(await database.db.select().from(sessions).where(eq(sessions.userId, user!.id))).toHaveLength(1);
    figures.push(`one code raced on both → ${won.length} × 201`);
  });

  it('count send limits across both: five codes per email per 15 minutes, whichever process is asked', async () => {
    const email = uniqueEmail('two-send');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call(i % 2 ? b : a, 'POST', '/auth/verify', { body: { email } });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429, 429, 429]);
    figures.push('send limit: 5 × 202 then 429, alternating processes');
  });

  it('count guesses across both: five wrong tries burn the code, wherever they land', async () => {
    const email = uniqueEmail('two-guess');
    expect((await call(a, 'POST', '/auth/verify', { body: { email } })).status).toBe(202);
    const code = await codeFor(email);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const guesses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => call(i % 2 ? b : a, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: wrong } })),
    );
    expect(guesses.map((g) => g.status)).toEqual([401, 401, 401, 401, 401]);
    // The right code, now, on either process: burned.
    expect((await call(b, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: code } })).status).toBe(401);
    expect((await call(a, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: code } })).status).toBe(401);
    figures.push('guess budget: 5 wrong tries on both burn the code');
  });

  it('refuse a session revoked on A on B within a second (today: on the very next request)', async () => {
    const victim = await signIn(a);
    const other = await signIn(a, victim.email);
    expect((await call(b, 'GET', '/auth/sessions/current', { token: victim.token })).status).toBe(200);

    expect((await call(a, 'DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token })).status).toBe(204);
    const revokedAt = performance.now();
    let tries = 0;
    let status = 0;
    while (performance.now() - revokedAt < 1_000) {
      tries++;
      status = (await call(b, 'GET', '/auth/sessions/current', { token: victim.token })).status;
      if (status === 401) break;
      expect(status).toBe(200);
    }
    const refusedAfter = performance.now() - revokedAt;
    expect(status).toBe(401);
    expect(refusedAfter).toBeLessThanOrEqual(1_000);
    // Once refused, refused for good, on both.
    expect((await call(b, 'GET', '/auth/sessions/current', { token: victim.token })).status).toBe(401);
    expect((await call(a, 'GET', '/auth/sessions/current', { token: victim.token })).status).toBe(401);
    figures.push(`revocation on A refused on B after ${refusedAfter.toFixed(0)} ms (request #${tries})`);
  });

  it('both processes stay up and log no unhandled error', () => {
    for (const server of [a, b]) {
      expect(server.process.exitCode).toBeNull();
      expect(server.output()).not.toMatch(/"unhandled error"|"level":"error"/);
    }
  });
});
