import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity } from '../src/db/schema';
import { createTestContext, type TestContext } from './helpers/app';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

let handles = 0;
const uniqueHandle = () => `act_${process.pid}_${++handles}`;

/** Signs in (one `session_created` row) and adds `count` identities (one `identity_created` row each). */
async function userWithEvents(count: number) {
  const signedIn = await t.signIn();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await t.request('POST', '/identities', {
      token: signedIn.token,
      body: { displayName: `N${i}`, handle: uniqueHandle() },
      headers: { 'user-agent': 'activity-test', 'x-forwarded-for': '203.0.113.9' },
    });
    expect(res.status).toBe(201);
    ids.push(res.body.identity.id);
  }
  return { ...signedIn, identityIds: ids };
}

describe('GET /activity', () => {
  it("lists the caller's events newest first in the contract's shape", async () => {
    const { token, identityIds } = await userWithEvents(2);
    const res = await t.request('GET', '/activity', { token });
    expect(res.status).toBe(200);
    expect(res.body.next).toBeNull();
    expect(res.body.activity.map((a: { action: string }) => a.action)).toEqual(['identity_created', 'identity_created', 'session_created']);
    expect(res.body.activity[0]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      action: 'identity_created',
      severity: 'info',
      ipAddress: '203.0.113.9',
      userAgent: 'activity-test',
      metadata: { identityId: identityIds[1] },
      createdAt: t.clock.now().toISOString(),
    });
    const ids = res.body.activity.map((a: { id: string }) => Number(a.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it('records identity_updated with the changed fields and identity_deleted as a warning', async () => {
    const { token, identityIds } = await userWithEvents(2);
    const [, second] = identityIds;
    await t.request('PATCH', `/identities/${second}`, { token, body: { displayName: 'Changed', bannerUrl: '#abc' } });
    await t.request('DELETE', `/identities/${second}`, { token });
    const res = await t.request('GET', '/activity?limit=2', { token });
    expect(res.body.activity).toMatchObject([
      { action: 'identity_deleted', severity: 'warning', metadata: { identityId: second } },
      { action: 'identity_updated', severity: 'info', metadata: { identityId: second, fields: ['displayName', 'bannerUrl'] } },
    ]);
  });

  it('pages with limit, before and next until the end', async () => {
    const { token, user, identityIds } = await userWithEvents(5);
    await t.request('PATCH', `/identities/${identityIds[0]}`, { token, body: { displayName: 'Seventh event' } });
    const all = await t.db.select().from(activity).where(eq(activity.userId, user.id));
    expect(all).toHaveLength(7);
    const expected = all.map((a) => String(a.id)).sort((a, b) => Number(b) - Number(a));

    const seen: string[] = [];
    let path = '/activity?limit=3';
    const nexts: (string | null)[] = [];
    for (;;) {
      const res = await t.request('GET', path, { token });
      expect(res.status).toBe(200);
      expect(res.body.activity.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.activity.map((a: { id: string }) => a.id));
      nexts.push(res.body.next);
      if (res.body.next === null) break;
      expect(res.body.next).toBe(res.body.activity.at(-1).id);
      path = `/activity?limit=3&before=${res.body.next}`;
    }
    expect(seen).toEqual(expected);
    expect(nexts).toEqual([expected[2], expected[5], null]);

    // A page that ends exactly at the last row says there is no more.
    const exact = await t.request('GET', '/activity?limit=7', { token });
    expect(exact.body.activity).toHaveLength(7);
    expect(exact.body.next).toBeNull();
  });

  it('defaults to 50 and allows 100', async () => {
    const { token } = await userWithEvents(0);
    // Enough rows straight in the database to pass the default page size.
    const { user } = (await t.request('GET', '/auth/sessions/current', { token })).body;
    await t.db.insert(activity).values(
      Array.from({ length: 120 }, (_, i) => ({
        userId: user.id,
        action: 'bulk',
        severity: 'info' as const,
        metadata: { i },
        createdAt: t.clock.now(),
      })),
    );
    const page = await t.request('GET', '/activity', { token });
    expect(page.body.activity).toHaveLength(50);
    expect(page.body.next).toBe(page.body.activity[49].id);
    const max = await t.request('GET', '/activity?limit=100', { token });
    expect(max.body.activity).toHaveLength(100);
  });

  it("never shows another user's events, even with their ids as cursor", async () => {
    const alice = await userWithEvents(3);
    const bob = await userWithEvents(1);
    const aliceRows = (await t.request('GET', '/activity', { token: alice.token })).body.activity;
    const bobRows = (await t.request('GET', '/activity', { token: bob.token })).body.activity;
    const aliceIds = new Set(aliceRows.map((a: { id: string }) => a.id));
    expect(bobRows.length).toBe(2);
    for (const row of bobRows) expect(aliceIds.has(row.id)).toBe(false);
    for (const row of bobRows) expect(row.metadata.identityId ?? null).not.toBeOneOf(alice.identityIds);

    const huge = await t.request('GET', `/activity?before=${Number.MAX_SAFE_INTEGER}`, { token: bob.token });
    expect(huge.body.activity.map((a: { id: string }) => a.id)).toEqual(bobRows.map((a: { id: string }) => a.id));
  });

  it.each([['limit=0'], ['limit=101'], ['limit=-1'], ['limit=abc'], ['limit='], ['limit=2.5'], ['limit=0x10'], ['limit=1e1'], ['limit=%2010'], ['limit=++5'], ['limit=010'], ['before=abc'], ['before=0'], ['before=-5'], ['before='], ['before=1.5'], ['before=99999999999999999999'], ['before=9007199254740992']])(
    'refuses %s with 400 invalid_request',
    async (query) => {
      const { token } = await userWithEvents(0);
      const res = await t.request('GET', `/activity?${query}`, { token });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    },
  );

  it('needs a session token', async () => {
    expect((await t.request('GET', '/activity')).status).toBe(401);
    expect((await t.request('GET', '/activity', { token: 'nope.nope' })).status).toBe(401);
  });
});
