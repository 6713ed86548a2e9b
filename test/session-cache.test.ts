import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions, users, type SessionRow, type UserRow } from '../src/db/schema';
import { FEED_APPLICATION_NAME, feedFromPglite, feedFromPostgres, type SessionFeed } from '../src/entry/session-feed';
import { silentLogger } from '../src/ports/logger';
import { createMemorySessionCache, type SessionCache } from '../src/ports/session-cache';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';
import { HOUR, DAY } from './helpers/clock';
import { createTestDatabase, driver, type TestDatabase } from './helpers/db';

const TTL = 500;
const HOLD_FOR_AN_HOUR = HOUR;
const ADMIN = 'cache-boss@example.com';
/** Also listed in ADMIN_EMAILS: an address an account is moved to behind the app's back. */
const PROMOTED = 'cache-promoted@example.com';

function row(id: string, userId = 'u1'): { session: SessionRow; user: UserRow } {
  const at = new Date();
  return {
    session: { id, userId, secretHash: 'h', method: 'otp',
    userVerified: false, createdAt: at, lastActiveAt: at, expiresAt: at, ipAddress: null, userAgent: null },
    user: { id: userId, email: null, unverifiedEmail: null, identity: 'i', webauthnUserId: 'w', createdAt: at },
  };
}

/** A cache on a clock the test moves. */
function manualCache(options: { ttlMs?: number; maxEntries?: number; suspended?: boolean } = {}) {
  let now = 0;
  const cache = createMemorySessionCache({ ttlMs: options.ttlMs ?? TTL, maxEntries: options.maxEntries ?? 100, now: () => now, suspended: options.suspended });
  return { cache, advance: (ms: number) => (now += ms) };
}

describe('the in-memory session cache', () => {
  it('serves an entry until it is a TTL old, counted from its ticket', () => {
    const { cache, advance } = manualCache();
    const ticket = cache.ticket();
    advance(200);
    cache.set(row('s1'), ticket);
    expect(cache.get('s1')?.session.id).toBe('s1');
    advance(TTL - 201);
    expect(cache.get('s1')).toBeDefined();
    advance(1);
    expect(cache.get('s1')).toBeUndefined();
    expect(cache.get('nope')).toBeUndefined();
  });

  it('refuses a read that began before an eviction of any kind', () => {
    const { cache } = manualCache();
    for (const evict of [() => cache.evictSession('other'), () => cache.evictUser('other'), () => cache.clear()]) {
      const ticket = cache.ticket();
      evict();
      cache.set(row('s1'), ticket);
      expect(cache.get('s1')).toBeUndefined();
    }
    cache.set(row('s1'), cache.ticket());
    expect(cache.get('s1')).toBeDefined();
  });

  it('refuses a read whose ticket is already a TTL old', () => {
    const { cache, advance } = manualCache();
    const ticket = cache.ticket();
    advance(TTL);
    cache.set(row('s1'), ticket);
    expect(cache.get('s1')).toBeUndefined();
  });

  it("evicts one session, or every session of one user", () => {
    const { cache } = manualCache();
    for (const [id, user] of [['a1', 'ua'], ['a2', 'ua'], ['b1', 'ub']] as const) cache.set(row(id, user), cache.ticket());
    cache.evictSession('a1');
    expect(['a1', 'a2', 'b1'].map((id) => cache.get(id) !== undefined)).toEqual([false, true, true]);
    cache.evictUser('ua');
    expect(['a1', 'a2', 'b1'].map((id) => cache.get(id) !== undefined)).toEqual([false, false, true]);
  });

  it('serves and stores nothing while suspended, and resumes empty', () => {
    const { cache } = manualCache({ suspended: true });
    cache.set(row('s1'), cache.ticket());
    expect(cache.get('s1')).toBeUndefined();
    cache.resume();
    cache.set(row('s1'), cache.ticket());
    expect(cache.get('s1')).toBeDefined();
    const before = cache.ticket();
    cache.suspend();
    expect(cache.get('s1')).toBeUndefined();
    cache.resume();
    expect(cache.get('s1')).toBeUndefined();
    cache.set(row('s2'), before);
    expect(cache.get('s2')).toBeUndefined();
  });

  it('shares a read under way with the checks of that session, not across an eviction', async () => {
    const { cache, advance } = manualCache();
    let reads = 0;
    const gate: Array<() => void> = [];
    const read = () => {
      reads++;
      return new Promise<ReturnType<typeof row>>((resolve) => gate.push(() => resolve(row('s1'))));
    };
    const first = cache.shareRead('s1', read);
    advance(100);
    const second = cache.shareRead('s1', read);
    const other = cache.shareRead('s2', read);
    expect(reads).toBe(2);
    cache.evictSession('elsewhere'); // a change heard while the read runs: later checks read anew
    const third = cache.shareRead('s1', read);
    expect(reads).toBe(3);
    for (const open of gate) open();
    const [a, b, , c] = await Promise.all([first, second, other, third]);
    expect(b).toBe(a);
    expect(a.ticket.at).toBe(0); // the ticket of the read, taken as it began
    expect(c).not.toBe(a);
    cache.set(a.entry!, a.ticket);
    expect(cache.get('s1')).toBeUndefined(); // began before the eviction
    cache.set(c.entry!, c.ticket);
    expect(cache.get('s1')).toBeDefined();
    // Done reads are not shared any more; nor is anything while suspended.
    void cache.shareRead('s1', read);
    expect(reads).toBe(4);
    const { cache: suspended } = manualCache({ suspended: true });
    void suspended.shareRead('s1', read);
    void suspended.shareRead('s1', read);
    expect(reads).toBe(6);
    for (const open of gate) open();
  });

  it('holds at most maxEntries, dropping the oldest stored first', () => {
    const { cache } = manualCache({ maxEntries: 3 });
    for (const id of ['s1', 's2', 's3']) cache.set(row(id), cache.ticket());
    cache.set(row('s1'), cache.ticket()); // stored again: now the newest
    cache.set(row('s4'), cache.ticket());
    expect(['s1', 's2', 's3', 's4'].map((id) => cache.get(id) !== undefined)).toEqual([true, false, true, true]);
  });
});

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

/** An app over the file's database with a session cache; the test context's close would close the database. */
async function withCache(cache: SessionCache): Promise<TestContext> {
  return createTestContext({ ADMIN_EMAILS: `${ADMIN},${PROMOTED}` }, { database, sessionCache: cache });
}

const current = (t: TestContext, token: string) => t.request('GET', '/auth/sessions/current', { token });

async function waitFor(condition: () => Promise<boolean> | boolean, withinMs: number): Promise<number> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > withinMs) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

describe('session checks through a cache that hears no notification', () => {
  // Nothing but the domain's own evictions and the TTL keep this cache right.
  it('serves a warm session without reading it, until the entry is a TTL old', async () => {
    const { cache, advance } = manualCache();
    const t = await withCache(cache);
    const { token, session } = await t.signIn();
    expect((await current(t, token)).status).toBe(200);
    expect(cache.get(session.id)).toBeDefined();
    // Gone from the database behind the cache's back, as a lost notification would leave it.
    await database.db.delete(sessions).where(eq(sessions.id, session.id));
    expect((await current(t, token)).status).toBe(200);
    advance(TTL);
    expect((await current(t, token)).status).toBe(401);
  });

  it('checks the secret on every hit', async () => {
    const { cache } = manualCache();
    const t = await withCache(cache);
    const { token, session } = await t.signIn();
    expect((await current(t, token)).status).toBe(200);
    expect(cache.get(session.id)).toBeDefined();
    const [id, secret] = token.split('.') as [string, string];
    const wrong = `${id}.${secret.slice(0, -2)}${secret.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await current(t, wrong)).status).toBe(401);
    expect((await current(t, token)).status).toBe(200);
  });

  it('refuses a revoked session on the very next request: revoke, sign-out, admin revoke', async () => {
    const { cache } = manualCache({ ttlMs: HOLD_FOR_AN_HOUR });
    const t = await withCache(cache);
    const victim = await t.signIn();
    const other = await t.signIn(victim.email);
    expect((await current(t, victim.token)).status).toBe(200);
    expect((await t.request('DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token })).status).toBe(204);
    expect((await current(t, victim.token)).status).toBe(401);

    expect((await current(t, other.token)).status).toBe(200);
    expect((await t.request('DELETE', '/auth/sessions', { token: other.token })).status).toBe(204);
    expect((await current(t, other.token)).status).toBe(401);

    const user = await t.signIn();
    const second = await t.signIn(user.email);
    const admin = await t.signIn(ADMIN);
    for (const s of [user, second]) expect((await current(t, s.token)).status).toBe(200);
    expect((await t.request('POST', `/admin/users/${user.user.id}/revoke-sessions`, { token: admin.token })).body).toEqual({ revoked: 2 });
    for (const s of [user, second]) expect((await current(t, s.token)).status).toBe(401);
  });

  it('keeps a revocation that races checks of the same session', async () => {
    const { cache } = manualCache({ ttlMs: HOLD_FOR_AN_HOUR });
    const t = await withCache(cache);
    for (let round = 0; round < 5; round++) {
      const victim = await t.signIn();
      const other = await t.signIn(victim.email);
      expect((await current(t, victim.token)).status).toBe(200);
      cache.evictSession(victim.session.id); // every check below starts with a read
      const checks = Array.from({ length: 10 }, () => current(t, victim.token));
      const revoke = await t.request('DELETE', `/auth/sessions/${victim.session.id}`, { token: other.token });
      expect(revoke.status).toBe(204);
      expect((await current(t, victim.token)).status).toBe(401);
      for (const check of await Promise.all(checks)) expect([200, 401]).toContain(check.status);
      expect((await current(t, victim.token)).status).toBe(401);
    }
  });

  it('refuses an expired session that is still cached, and slides a due one through the database', async () => {
    const { cache } = manualCache({ ttlMs: HOLD_FOR_AN_HOUR });
    const t = await withCache(cache);
    const { token, session, setCookie } = await t.signIn();
    const cookie = setCookie!.split(';')[0]!;
    expect((await t.request('GET', '/auth/sessions/current', { headers: { cookie } })).headers.get('set-cookie')).toBeNull();

    t.clock.advance(2 * HOUR);
    const slid = await t.request('GET', '/auth/sessions/current', { headers: { cookie } });
    expect(slid.status).toBe(200);
    expect(slid.headers.get('set-cookie')).toMatch(/^session=/);
    const [stored] = await database.db.select().from(sessions).where(eq(sessions.id, session.id));
    expect(stored!.lastActiveAt.getTime()).toBe(t.clock.now().getTime());
    const again = await t.request('GET', '/auth/sessions/current', { headers: { cookie } });
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(again.body.session.expiresAt).toBe(slid.body.session.expiresAt);

    t.clock.advance(31 * DAY);
    expect((await current(t, token)).status).toBe(401);
    expect(await database.db.select().from(sessions).where(eq(sessions.id, session.id))).toEqual([]);
  });

  it('forgets the account of a session whose unverified email was set', async () => {
    const { cache } = manualCache({ ttlMs: HOLD_FOR_AN_HOUR });
    const t = await withCache(cache);
    const { token, session, user } = await t.signIn();
    expect((await current(t, token)).status).toBe(200);
    expect(cache.get(session.id)).toBeDefined();
    const email = uniqueEmail('unverified');
    const set = await t.request('POST', `/v1/identity/${user.identity}/set-email?email=${encodeURIComponent(email)}`, { token });
    expect(set.status).toBe(200);
    expect(cache.get(session.id)).toBeUndefined();
  });
});

describe(`session checks through a cache fed by ${driver}'s notifications`, () => {
  let feed: SessionFeed;
  let t: TestContext;
  let cache: SessionCache;
  beforeAll(async () => {
    // Only a notification can evict what this cache holds within the test's bounds.
    cache = createMemorySessionCache({ ttlMs: HOLD_FOR_AN_HOUR, maxEntries: 100, now: () => performance.now(), suspended: true });
    feed = database.client ? await feedFromPglite(database.client, cache) : feedFromPostgres(database.url!, cache, silentLogger);
    await waitFor(() => feed.listening(), 10_000);
    t = await withCache(cache);
  });
  afterAll(async () => {
    await feed?.close();
  });

  it('evicts a session deleted outside this process, within a second', async () => {
    const { token, session } = await t.signIn();
    expect((await current(t, token)).status).toBe(200);
    expect(cache.get(session.id)).toBeDefined();
    await database.db.delete(sessions).where(eq(sessions.id, session.id));
    const after = await waitFor(async () => (await current(t, token)).status === 401, 1_000);
    console.log(`${driver}: a session deleted elsewhere was refused after ${after.toFixed(1)} ms`);
  });

  it('evicts the sessions of an account changed outside this process: the new role shows within a second', async () => {
    const { token, user } = await t.signIn();
    const permissions = async () => (await t.request('GET', '/auth/sessions/current/permissions', { token })).body.permissions as string[];
    expect(await permissions()).not.toContain('users:read');
    await database.db.update(users).set({ email: PROMOTED }).where(eq(users.id, user.id));
    await waitFor(async () => (await permissions()).includes('users:read'), 1_000);
    await database.db.delete(users).where(eq(users.id, user.id));
    await waitFor(async () => (await current(t, token)).status === 401, 1_000);
  });

  it.runIf(driver === 'postgres')('bypasses the cache from the moment its listening connection is cut until it listens again', async () => {
    const { token, session } = await t.signIn();
    expect((await current(t, token)).status).toBe(200);
    expect(cache.get(session.id)).toBeDefined();
    // postgres.js answers with the rows themselves.
    const cut = (await database.db.execute(
      sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${`${FEED_APPLICATION_NAME} ${process.pid}`} and datname = current_database()`,
    )) as unknown as { ok: boolean }[];
    expect(cut).toEqual([{ ok: true }]);
    // Deleted while the feed is down: its notification may never be heard.
    await database.db.delete(sessions).where(eq(sessions.id, session.id));
    const after = await waitFor(async () => (await current(t, token)).status === 401, 1_000);
    console.log(`postgres: with the feed cut, a deleted session was refused after ${after.toFixed(1)} ms`);
    const relisten = await waitFor(() => feed.listening(), 10_000);
    console.log(`postgres: the feed listened again after ${relisten.toFixed(0)} ms`);

    const next = await t.signIn();
    expect((await current(t, next.token)).status).toBe(200);
    expect(cache.get(next.session.id)).toBeDefined();
    await database.db.delete(sessions).where(eq(sessions.id, next.session.id));
    await waitFor(async () => (await current(t, next.token)).status === 401, 1_000);
  });
});
