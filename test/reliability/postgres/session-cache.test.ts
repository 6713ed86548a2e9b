import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions } from '../../../src/db/schema';
import { FEED_APPLICATION_NAME } from '../../../src/entry/session-feed';
import { uniqueEmail } from '../../helpers/app';
import type { TestDatabase } from '../../helpers/db';
import type { RunningServer } from '../../helpers/server';
import { call, startServerPair, type ServerPair } from './pair';

// Two real server processes on one PostgreSQL, each with its session cache fed by LISTEN/NOTIFY.
// Whatever B holds in its cache, a session revoked on A is refused by B within a second: when the
// notification arrives, when it is lost, and when B's listening connection is cut.
const BOUND_MS = 1_000;
let pair: ServerPair;
let database: TestDatabase;
let smtp: ServerPair['smtp'];
let a: RunningServer;
let b: RunningServer;
const figures: string[] = [];

beforeAll(async () => {
  pair = await startServerPair();
  ({ database, smtp, a, b } = pair);
  for (const server of [a, b]) await waitFor(async () => server.output().includes('session cache listening'), 30_000);
});
afterAll(async () => {
  console.log(`session caches of two processes: ${figures.join('; ')}`);
  await pair?.stop();
});

async function waitFor(condition: () => Promise<boolean>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function signIn(server: RunningServer, email = uniqueEmail('cache')) {
  const sent = smtp.mails.filter((m) => m.to.includes(email)).length;
  expect((await call(server, 'POST', '/auth/verify', { body: { email } })).status).toBe(202);
  await waitFor(async () => smtp.mails.filter((m) => m.to.includes(email)).length > sent, 15_000);
  const code = smtp.mails.filter((m) => m.to.includes(email))[sent]!.text.match(/\b(\d{6})\b/)![1]!;
  const res = await call(server, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
  expect(res.status).toBe(201);
  return { ...(res.body as { token: string; session: { id: string } }), email };
}

const current = (server: RunningServer, token: string) => call(server, 'GET', '/auth/sessions/current', { token });

/** A session signed in on A, and checked on B often enough that B's cache holds it. */
async function warmOnB() {
  const victim = await signIn(a);
  const other = await signIn(a, victim.email);
  for (let i = 0; i < 5; i++) expect((await current(b, victim.token)).status).toBe(200);
  return { victim, other };
}

/** Polls B with the token from `since` on: every answer 200 until the first 401, which must come within the bound. */
async function refusedOnB(token: string, since: number): Promise<{ after: number; served: number }> {
  let served = 0;
  for (;;) {
    const { status } = await current(b, token);
    const after = performance.now() - since;
    if (status === 401) {
      expect(after).toBeLessThanOrEqual(BOUND_MS);
      // Once refused, refused for good, on both.
      expect((await current(b, token)).status).toBe(401);
      expect((await current(a, token)).status).toBe(401);
      return { after, served };
    }
    expect(status).toBe(200);
    served++;
    expect(after).toBeLessThanOrEqual(BOUND_MS);
  }
}

describe('session caches of two processes on one PostgreSQL', () => {
  it('refuse on B, within a second, a session revoked on A that B has cached', async () => {
    const delays: number[] = [];
    for (let round = 0; round < 5; round++) {
      const { victim, other } = await warmOnB();
      expect((await call(a, 'DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token })).status).toBe(204);
      delays.push((await refusedOnB(victim.token, performance.now())).after);
    }
    figures.push(`revoked on A → 401 on B after ${delays.map((d) => d.toFixed(0)).join(', ')} ms`);
  });

  it('bound a lost notification by the cache lifetime: a session deleted with the triggers off', async () => {
    const { victim } = await warmOnB();
    await database.db.execute(sql`alter table sessions disable trigger sessions_notify_changed`);
    try {
      const since = performance.now();
      await database.db.delete(sessions).where(eq(sessions.id, victim.session.id));
      const { after, served } = await refusedOnB(victim.token, since);
      figures.push(`unnotified delete → 401 on B after ${after.toFixed(0)} ms (${served} answers from its cache first)`);
    } finally {
      await database.db.execute(sql`alter table sessions enable trigger sessions_notify_changed`);
    }
  });

  it("do not serve a revoked session from B's cache when B's listening connection is cut", async () => {
    const feed = `${FEED_APPLICATION_NAME} ${b.process.pid}`;
    const listened = () => b.output().split('session cache listening').length - 1;
    for (let round = 0; round < 3; round++) {
      const { victim, other } = await warmOnB();
      const before = listened();
      const cut = (await database.db.execute(
        sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${feed} and datname = current_database()`,
      )) as unknown as { ok: boolean }[];
      expect(cut).toEqual([{ ok: true }]);
      // Revoked while B is not listening: B never hears of it.
      const since = performance.now();
      expect((await call(a, 'DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token })).status).toBe(204);
      const { after } = await refusedOnB(victim.token, since);
      await waitFor(async () => listened() > before, 10_000);
      figures.push(`feed of B cut, revoked on A → 401 on B after ${after.toFixed(0)} ms`);
    }
    expect(b.output()).toContain('session cache bypassed: its notification connection closed');
    // Listening again, B hears revocations again.
    const { victim, other } = await warmOnB();
    expect((await call(a, 'DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token })).status).toBe(204);
    await refusedOnB(victim.token, performance.now());
  });

  it('both processes stay up and log no error', () => {
    for (const server of [a, b]) {
      expect(server.process.exitCode).toBeNull();
      expect(server.output()).not.toMatch(/"unhandled error"|"level":"error"/);
    }
  });
});
