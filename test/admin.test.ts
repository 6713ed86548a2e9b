import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, users } from '../src/db/schema';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';

const ADMIN = `admin-${process.pid}@example.com`;

let t: TestContext;
let admin: Awaited<ReturnType<TestContext['signIn']>>;
beforeAll(async () => {
  t = await createTestContext({ ADMIN_EMAILS: `other-admin@example.com, ${ADMIN.toUpperCase()}` });
  admin = await t.signIn(ADMIN);
});
afterAll(() => t.close());

describe('permissions', () => {
  it('gives admins users:read and users:write, and nobody else', async () => {
    expect(admin.user.role).toBe('admin');
    const mine = await t.request('GET', '/auth/sessions/current/permissions', { token: admin.token });
    expect(mine.body.permissions).toEqual(expect.arrayContaining(['users:read', 'users:write']));
    const user = await t.signIn();
    const theirs = await t.request('GET', '/auth/sessions/current/permissions', { token: user.token });
    expect(theirs.body.permissions).not.toContain('users:read');
    expect(theirs.body.permissions).not.toContain('users:write');
  });

  it('answers 403 forbidden to a signed-in non-admin on every admin route', async () => {
    const user = await t.signIn();
    const victim = await t.signIn();
    const list = await t.request('GET', '/admin/users', { token: user.token });
    expect(list.status).toBe(403);
    expect(list.body.error.code).toBe('forbidden');
    const revoke = await t.request('POST', `/admin/users/${victim.user.id}/revoke-sessions`, { token: user.token });
    expect(revoke.status).toBe(403);
    expect(revoke.body.error.code).toBe('forbidden');
    // The victim is still signed in.
    expect((await t.request('GET', '/auth/sessions/current', { token: victim.token })).status).toBe(200);
  });

  it('answers 401 without a session', async () => {
    expect((await t.request('GET', '/admin/users')).status).toBe(401);
    expect((await t.request('POST', `/admin/users/${admin.user.id}/revoke-sessions`)).status).toBe(401);
  });
});

describe('GET /admin/users', () => {
  it('lists accounts newest first and pages with limit, before and next', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) {
      t.clock.advance(10);
      created.push((await t.signIn()).user);
    }
    const newestFirst = created.reverse();

    const first = await t.request('GET', '/admin/users?limit=2', { token: admin.token });
    expect(first.status).toBe(200);
    expect(first.body.users).toEqual(newestFirst.slice(0, 2));
    expect(first.body.next).toBe(newestFirst[1]!.id);

    const second = await t.request('GET', `/admin/users?limit=2&before=${first.body.next}`, { token: admin.token });
    expect(second.body.users).toEqual(newestFirst.slice(2, 4));
    expect(second.body.next).toBe(newestFirst[3]!.id);

    // Walking to the end covers every account exactly once and ends with next = null.
    const all = await t.db.select({ id: users.id }).from(users);
    const seen: string[] = [];
    let path = '/admin/users?limit=3';
    for (;;) {
      const res = await t.request('GET', path, { token: admin.token });
      seen.push(...res.body.users.map((u: { id: string }) => u.id));
      if (res.body.next === null) break;
      path = `/admin/users?limit=3&before=${res.body.next}`;
    }
    expect(seen).toHaveLength(all.length);
    expect(new Set(seen).size).toBe(all.length);
    expect(seen).toEqual([...seen].sort().reverse());
  });

  it('filters by exact email after trimming and lower-casing; an empty filter lists everyone', async () => {
    const email = uniqueEmail('find-me');
    const { user } = await t.signIn(email);
    const res = await t.request('GET', `/admin/users?email=${encodeURIComponent(`  ${email.toUpperCase()} `)}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ users: [user], next: null });

    const prefix = await t.request('GET', `/admin/users?email=${encodeURIComponent(email.slice(0, 8))}`, { token: admin.token });
    expect(prefix.body).toEqual({ users: [], next: null });

    const empty = await t.request('GET', '/admin/users?email=&limit=50', { token: admin.token });
    expect(empty.status).toBe(200);
    expect(empty.body.users.length).toBeGreaterThan(1);
  });

  it('shows roles', async () => {
    const res = await t.request('GET', `/admin/users?email=${encodeURIComponent(ADMIN)}`, { token: admin.token });
    expect(res.body.users).toEqual([{ ...admin.user, role: 'admin' }]);
  });

  it.each([['limit=0'], ['limit=101'], ['limit=x'], ['before=not-an-id'], ['before='], ['before=1234'], [`email=${'a'.repeat(255)}`]])(
    'refuses %s with 400 invalid_request',
    async (query) => {
      const res = await t.request('GET', `/admin/users?${query}`, { token: admin.token });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    },
  );
});

describe('POST /admin/users/:id/revoke-sessions', () => {
  it("revokes every session of the user, whose tokens are then 401, and logs it on that user's activity", async () => {
    const email = uniqueEmail('revoked');
    const one = await t.signIn(email);
    const two = await t.signIn(email);
    const bystander = await t.signIn();

    const res = await t.request('POST', `/admin/users/${one.user.id}/revoke-sessions`, {
      token: admin.token,
      headers: { 'user-agent': 'admin-console' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });

    for (const token of [one.token, two.token]) {
      const after = await t.request('GET', '/auth/sessions/current', { token });
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe('unauthorized');
    }
    expect((await t.request('GET', '/auth/sessions/current', { token: bystander.token })).status).toBe(200);
    expect((await t.request('GET', '/auth/sessions/current', { token: admin.token })).status).toBe(200);

    const logged = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, one.user.id), eq(activity.action, 'sessions_revoked_by_admin')));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ severity: 'warning', userAgent: 'admin-console', metadata: { revoked: 2, adminId: admin.user.id } });

    // The user sees it in their own activity after signing in again.
    const back = await t.signIn(email);
    const feed = await t.request('GET', '/activity', { token: back.token });
    expect(feed.body.activity.map((a: { action: string }) => a.action)).toContain('sessions_revoked_by_admin');

    const again = await t.request('POST', `/admin/users/${one.user.id}/revoke-sessions`, { token: admin.token });
    expect(again.body).toEqual({ revoked: 1 });
  });

  it('answers 404 for an unknown user', async () => {
    for (const id of ['00000000-0000-7000-8000-000000000000', 'nonsense']) {
      const res = await t.request('POST', `/admin/users/${id}/revoke-sessions`, { token: admin.token });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('answers 400 naming the id when it holds a NUL character', async () => {
    const res = await t.request('POST', '/admin/users/a%00b/revoke-sessions', { token: admin.token });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([expect.objectContaining({ path: 'id' })]);
  });
});
