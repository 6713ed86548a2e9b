import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, profiles } from '../src/db/schema';
import { createTestContext, type TestContext } from './helpers/app';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

let handles = 0;
/** A handle no other test uses. */
const uniqueHandle = (prefix = 'h') => `${prefix}_${process.pid}_${++handles}`;

async function create(token: string, body: Record<string, unknown> = {}) {
  return t.request('POST', '/identities', { token, body: { displayName: 'Someone', handle: uniqueHandle(), ...body } });
}

async function created(token: string, body: Record<string, unknown> = {}) {
  const res = await create(token, body);
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.identity;
}

describe('creating identities', () => {
  it('creates the first identity as primary and returns every field', async () => {
    const { token, user } = await t.signIn();
    const handle = uniqueHandle('Ada');
    const res = await t.request('POST', '/identities', {
      token,
      body: {
        displayName: 'Ada Lovelace',
        handle,
        email: '  ADA@Example.com ',
        birthday: '1815-12-10',
        avatarUrl: 'https://example.com/ada.png',
        bannerUrl: '#1a2B3c',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.identity).toEqual({
      id: expect.any(String),
      displayName: 'Ada Lovelace',
      handle: handle.toLowerCase(),
      email: 'ada@example.com',
      birthday: '1815-12-10',
      avatarUrl: 'https://example.com/ada.png',
      bannerUrl: '#1a2B3c',
      isPrimary: true,
      createdAt: t.clock.now().toISOString(),
    });
    const rows = await t.db.select().from(profiles).where(eq(profiles.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.handle).toBe(handle.toLowerCase());

    const second = await created(token);
    expect(second).toMatchObject({ isPrimary: false, email: null, birthday: null, avatarUrl: null, bannerUrl: null });
  });

  it('lists, and gets one by id', async () => {
    const { token } = await t.signIn();
    const a = await created(token, { displayName: 'A' });
    t.clock.advance(1000);
    const b = await created(token, { displayName: 'B' });
    const list = await t.request('GET', '/identities', { token });
    expect(list.status).toBe(200);
    expect(list.body.identities.map((i: { id: string }) => i.id)).toEqual([a.id, b.id]);
    const one = await t.request('GET', `/identities/${b.id}`, { token });
    expect(one.status).toBe(200);
    expect(one.body.identity).toEqual(b);
  });

  it('allows five identities and refuses the sixth with identity_limit', async () => {
    const { token, user } = await t.signIn();
    for (let i = 0; i < 5; i++) await created(token);
    const sixth = await create(token);
    expect(sixth.status).toBe(400);
    expect(sixth.body.error.code).toBe('identity_limit');
    expect(await t.db.select().from(profiles).where(eq(profiles.userId, user.id))).toHaveLength(5);
  });

  it('lower-cases handles and keeps them unique across users, whatever the case', async () => {
    const first = await t.signIn();
    const second = await t.signIn();
    const handle = uniqueHandle('MiXeD');
    expect((await create(first.token, { handle })).body.identity.handle).toBe(handle.toLowerCase());
    const taken = await create(second.token, { handle: handle.toUpperCase() });
    expect(taken.status).toBe(400);
    expect(taken.body.error.code).toBe('handle_taken');
    const sameUser = await create(first.token, { handle: handle.toLowerCase() });
    expect(sameUser.status).toBe(400);
    expect(sameUser.body.error.code).toBe('handle_taken');
  });

  it.each([
    ['a missing displayName', { displayName: undefined }],
    ['an empty displayName', { displayName: '   ' }],
    ['a 65-character displayName', { displayName: 'x'.repeat(65) }],
    ['a missing handle', { handle: undefined }],
    ['a 2-character handle', { handle: 'ab' }],
    ['a 33-character handle', { handle: 'a'.repeat(33) }],
    ['a handle with a dash', { handle: 'has-dash' }],
    ['a handle with a space', { handle: 'has space' }],
    ['a null handle', { handle: null }],
    ['a bad email', { email: 'not-an-email' }],
    ['a birthday that is not a date', { birthday: 'yesterday' }],
    ['a birthday that does not exist', { birthday: '2023-02-30' }],
    ['a javascript: avatar', { avatarUrl: 'javascript:alert(1)' }],
    ['a data: avatar', { avatarUrl: 'data:image/png;base64,iVBORw0KGgo=' }],
    ['a relative avatar', { avatarUrl: '/avatar.png' }],
    ['an ftp avatar', { avatarUrl: 'ftp://example.com/a.png' }],
    ['a colour as avatar', { avatarUrl: '#fff' }],
    ['a javascript: banner', { bannerUrl: 'javascript:alert(1)' }],
    ['a data: banner', { bannerUrl: 'data:text/html,<script>alert(1)</script>' }],
    ['a 4-digit colour', { bannerUrl: '#abcd' }],
    ['a colour without #', { bannerUrl: 'ffffff' }],
    ['a named colour', { bannerUrl: 'red' }],
    ['a non-hex colour', { bannerUrl: '#ggg' }],
    ['an unknown field', { isPrimary: true }],
    ['a number as displayName', { displayName: 42 }],
  ])('refuses %s with 400 invalid_request', async (_, override) => {
    const { token, user } = await t.signIn();
    const res = await create(token, override);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(await t.db.select().from(profiles).where(eq(profiles.userId, user.id))).toHaveLength(0);
  });

  it.each([['#fff'], ['#FFF'], ['#a1b2c3'], ['#A1B2C3'], ['http://example.com/banner.jpg'], ['https://cdn.example.com/b.png?x=1'], [null]])(
    'accepts the banner %s',
    async (bannerUrl) => {
      const { token } = await t.signIn();
      const res = await create(token, { bannerUrl });
      expect(res.status).toBe(201);
      expect(res.body.identity.bannerUrl).toBe(bannerUrl);
    },
  );

  it('refuses a body that is not JSON', async () => {
    const { token } = await t.signIn();
    const res = await t.request('POST', '/identities', { token, body: '{nope' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });
});

describe('display name characters', () => {
  const refused: [string, string][] = [
    ['a bell (U+0007)', 'Ada\u0007'],
    ['a newline inside', 'Ada\nLovelace'],
    ['a leading tab', '\tAda'],
    ['DEL (U+007F)', 'Ada\u007f'],
    ['a C1 control (U+0085)', 'Ada\u0085'],
    ['U+202A left-to-right embedding', '\u202aAda'],
    ['U+202E right-to-left override', 'evil\u202Egnp.exe'],
    ['U+2066 left-to-right isolate', '\u2066Ada'],
    ['U+2069 pop directional isolate', 'Ada\u2069'],
  ];

  it.each(refused)('refuses %s on create and on update, naming displayName', async (_, name) => {
    const { token, user } = await t.signIn();
    const res = await create(token, { displayName: name });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/^displayName: /);
    expect(res.body.error.issues[0].path).toBe('displayName');
    expect(await t.db.select().from(profiles).where(eq(profiles.userId, user.id))).toHaveLength(0);

    const identity = await created(token);
    const patched = await t.request('PATCH', `/identities/${identity.id}`, { token, body: { displayName: name } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toMatch(/^displayName: /);
    expect((await t.request('GET', `/identities/${identity.id}`, { token })).body.identity.displayName).toBe('Someone');
  });

  it.each([['Zoë Ōtsuka'], ['山田 太郎'], ['سارة'], ['👩‍💻 Ada'], ['Ada\u200f'], ['  Ada  ']])('accepts %j', async (name) => {
    const { token } = await t.signIn();
    const res = await create(token, { displayName: name });
    expect(res.status).toBe(201);
    expect(res.body.identity.displayName).toBe(name.trim());
  });
});

describe('updating identities', () => {
  it('changes only the given fields, clears with null and logs the changed field names', async () => {
    const { token, user } = await t.signIn();
    const identity = await created(token, { email: 'a@example.com', birthday: '2000-01-01', avatarUrl: 'https://e.com/a.png', bannerUrl: '#000' });
    const newHandle = uniqueHandle('New');
    const res = await t.request('PATCH', `/identities/${identity.id}`, {
      token,
      body: { displayName: 'Renamed', handle: newHandle, email: null, avatarUrl: null, bannerUrl: 'https://e.com/b.png' },
    });
    expect(res.status).toBe(200);
    expect(res.body.identity).toEqual({
      ...identity,
      displayName: 'Renamed',
      handle: newHandle.toLowerCase(),
      email: null,
      avatarUrl: null,
      bannerUrl: 'https://e.com/b.png',
    });
    expect((await t.request('GET', `/identities/${identity.id}`, { token })).body.identity).toEqual(res.body.identity);

    const [logged] = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, user.id), eq(activity.action, 'identity_updated')));
    expect(logged!.severity).toBe('info');
    expect(logged!.metadata).toEqual({ identityId: identity.id, fields: ['displayName', 'handle', 'email', 'avatarUrl', 'bannerUrl'] });

    const birthdayOnly = await t.request('PATCH', `/identities/${identity.id}`, { token, body: { birthday: null } });
    expect(birthdayOnly.status).toBe(200);
    expect(birthdayOnly.body.identity).toEqual({ ...res.body.identity, birthday: null });
  });

  it('answers an empty or unchanged patch with the identity as it is, and logs nothing', async () => {
    const { token, user } = await t.signIn();
    const identity = await created(token);
    const res = await t.request('PATCH', `/identities/${identity.id}`, { token, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.identity).toEqual(identity);
    const same = await t.request('PATCH', `/identities/${identity.id}`, { token, body: { displayName: identity.displayName, email: null } });
    expect(same.body.identity).toEqual(identity);
    const logged = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, user.id), eq(activity.action, 'identity_updated')));
    expect(logged).toHaveLength(0);
  });

  it.each([
    ['a null displayName', { displayName: null }],
    ['a null handle', { handle: null }],
    ['a bad handle', { handle: 'no!' }],
    ['a javascript: avatar', { avatarUrl: 'javascript:alert(1)' }],
    ['a data: banner', { bannerUrl: 'data:image/png;base64,AAAA' }],
    ['a bad colour', { bannerUrl: '#12345' }],
    ['an unknown field', { isPrimary: true }],
  ])('refuses %s with 400 invalid_request', async (_, body) => {
    const { token } = await t.signIn();
    const identity = await created(token);
    const res = await t.request('PATCH', `/identities/${identity.id}`, { token, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect((await t.request('GET', `/identities/${identity.id}`, { token })).body.identity).toEqual(identity);
  });

  it('refuses a handle another user holds with handle_taken', async () => {
    const first = await t.signIn();
    const second = await t.signIn();
    const theirs = await created(first.token);
    const mine = await created(second.token);
    const res = await t.request('PATCH', `/identities/${mine.id}`, { token: second.token, body: { handle: theirs.handle.toUpperCase() } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('handle_taken');
    // Keeping one's own handle is not a conflict.
    const same = await t.request('PATCH', `/identities/${mine.id}`, { token: second.token, body: { handle: mine.handle } });
    expect(same.status).toBe(200);
  });
});

describe('primary and deleting', () => {
  it('moves the primary flag and keeps exactly one', async () => {
    const { token, user } = await t.signIn();
    const a = await created(token);
    t.clock.advance(1000);
    const b = await created(token);
    const res = await t.request('POST', `/identities/${b.id}/primary`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    const list = (await t.request('GET', '/identities', { token })).body.identities;
    expect(list.map((i: { id: string; isPrimary: boolean }) => [i.id, i.isPrimary])).toEqual([
      [a.id, false],
      [b.id, true],
    ]);
    // Setting the current primary again is a no-op.
    expect((await t.request('POST', `/identities/${b.id}/primary`, { token })).status).toBe(200);
    const primaries = await t.db.select().from(profiles).where(and(eq(profiles.userId, user.id), eq(profiles.isPrimary, true)));
    expect(primaries.map((p) => p.id)).toEqual([b.id]);
  });

  it('deletes a non-primary identity and logs it as a warning', async () => {
    const { token, user } = await t.signIn();
    await created(token);
    const b = await created(token);
    const res = await t.request('DELETE', `/identities/${b.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect((await t.request('GET', `/identities/${b.id}`, { token })).status).toBe(404);
    const [logged] = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, user.id), eq(activity.action, 'identity_deleted')));
    expect(logged).toMatchObject({ severity: 'warning', metadata: { identityId: b.id, handle: b.handle } });
  });

  it('refuses to delete the primary with primary_identity', async () => {
    const { token } = await t.signIn();
    const a = await created(token);
    await created(token);
    const res = await t.request('DELETE', `/identities/${a.id}`, { token });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('primary_identity');
    expect((await t.request('GET', `/identities/${a.id}`, { token })).status).toBe(200);
  });

  it('refuses to delete the only identity with last_identity', async () => {
    const { token } = await t.signIn();
    const only = await created(token);
    const res = await t.request('DELETE', `/identities/${only.id}`, { token });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('last_identity');
  });

  it('logs identity_created with the new id', async () => {
    const { token, user } = await t.signIn();
    const identity = await created(token);
    const rows = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, user.id), eq(activity.action, 'identity_created')));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ severity: 'info', metadata: { identityId: identity.id }, ipAddress: '127.0.0.1' });
  });
});

describe('other users and bad ids', () => {
  it("answers 404 for another user's identity on every route and changes nothing", async () => {
    const owner = await t.signIn();
    const stranger = await t.signIn();
    await created(owner.token);
    const target = await created(owner.token);
    await created(stranger.token);

    const attempts = [
      t.request('GET', `/identities/${target.id}`, { token: stranger.token }),
      t.request('PATCH', `/identities/${target.id}`, { token: stranger.token, body: { displayName: 'Hijacked' } }),
      t.request('POST', `/identities/${target.id}/primary`, { token: stranger.token }),
      t.request('DELETE', `/identities/${target.id}`, { token: stranger.token }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await t.request('GET', `/identities/${target.id}`, { token: owner.token })).body.identity).toEqual(target);
  });

  it.each([['00000000-0000-7000-8000-000000000000'], ['not-a-uuid'], ['%27%3B--'], ['x'.repeat(300)]])('answers 404 for the id %s', async (id) => {
    const { token } = await t.signIn();
    await created(token);
    expect((await t.request('GET', `/identities/${id}`, { token })).status).toBe(404);
    expect((await t.request('PATCH', `/identities/${id}`, { token, body: { displayName: 'x' } })).status).toBe(404);
    expect((await t.request('POST', `/identities/${id}/primary`, { token })).status).toBe(404);
    expect((await t.request('DELETE', `/identities/${id}`, { token })).status).toBe(404);
  });

  it('needs a session token', async () => {
    expect((await t.request('GET', '/identities')).status).toBe(401);
    expect((await t.request('POST', '/identities', { body: { displayName: 'x', handle: uniqueHandle() } })).status).toBe(401);
    expect((await t.request('GET', '/identities', { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' })).status).toBe(401);
  });
});

describe('under concurrent requests', () => {
  it('ten parallel creates leave exactly five identities', async () => {
    const { token, user } = await t.signIn();
    const results = await Promise.all(Array.from({ length: 10 }, () => create(token)));
    const statuses = results.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body.error?.code}`)).sort();
    expect(statuses).toEqual([201, 201, 201, 201, 201, '400 identity_limit', '400 identity_limit', '400 identity_limit', '400 identity_limit', '400 identity_limit']);
    const rows = await t.db.select().from(profiles).where(eq(profiles.userId, user.id));
    expect(rows).toHaveLength(5);
    expect(rows.filter((r) => r.isPrimary)).toHaveLength(1);
  });

  it('two users racing for one handle get one 201 and one handle_taken', async () => {
    const first = await t.signIn();
    const second = await t.signIn();
    for (let round = 0; round < 3; round++) {
      const handle = uniqueHandle('race');
      const results = await Promise.all([create(first.token, { handle }), create(second.token, { handle: handle.toUpperCase() })]);
      const statuses = results.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body.error?.code}`)).sort();
      expect(statuses).toEqual([201, '400 handle_taken']);
      expect(await t.db.select().from(profiles).where(eq(profiles.handle, handle.toLowerCase()))).toHaveLength(1);
    }
  });

  it('parallel handle renames to one handle give one 200 and handle_taken for the rest', async () => {
    const first = await t.signIn();
    const second = await t.signIn();
    const a = await created(first.token);
    const b = await created(second.token);
    const handle = uniqueHandle('rename');
    const results = await Promise.all([
      t.request('PATCH', `/identities/${a.id}`, { token: first.token, body: { handle } }),
      t.request('PATCH', `/identities/${b.id}`, { token: second.token, body: { handle } }),
    ]);
    expect(results.map((r) => (r.status === 200 ? 200 : `${r.status} ${r.body.error?.code}`)).sort()).toEqual([200, '400 handle_taken']);
  });

  it('parallel set-primary calls leave exactly one primary', async () => {
    const { token, user } = await t.signIn();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await created(token)).id);
    const results = await Promise.all([...ids, ...ids].map((id) => t.request('POST', `/identities/${id}/primary`, { token })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const primaries = await t.db.select().from(profiles).where(and(eq(profiles.userId, user.id), eq(profiles.isPrimary, true)));
    expect(primaries).toHaveLength(1);
  });

  it('parallel deletes and primary changes never leave a user without a primary', async () => {
    const { token, user } = await t.signIn();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await created(token)).id);
    const results = await Promise.all(
      ids.flatMap((id) => [t.request('POST', `/identities/${id}/primary`, { token }), t.request('DELETE', `/identities/${id}`, { token })]),
    );
    for (const res of results) expect([200, 400, 404]).toContain(res.status);
    const rows = await t.db.select().from(profiles).where(eq(profiles.userId, user.id));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.filter((r) => r.isPrimary)).toHaveLength(1);
  });

  it('edits racing deletes and primary changes of the same user finish without a 500, and no edit is lost', async () => {
    const { token, user } = await t.signIn();
    for (let round = 0; round < 4; round++) {
      const primary = (await t.request('GET', '/identities', { token })).body.identities.find((i: any) => i.isPrimary)
        ?? (await created(token));
      const other = await created(token);
      const spare = await created(token);
      const name = `renamed ${round}`;
      const results = await Promise.all([
        t.request('PATCH', `/identities/${primary.id}`, { token, body: { displayName: name } }),
        t.request('POST', `/identities/${spare.id}/primary`, { token }),
        t.request('PATCH', `/identities/${other.id}`, { token, body: { displayName: name } }),
        t.request('DELETE', `/identities/${other.id}`, { token }),
      ]);
      expect(results[0]!.status, JSON.stringify(results[0]!.body)).toBe(200);
      expect(results[1]!.status, JSON.stringify(results[1]!.body)).toBe(200);
      expect([200, 404], JSON.stringify(results[2]!.body)).toContain(results[2]!.status);
      expect(results[3]!.status, JSON.stringify(results[3]!.body)).toBe(200);
      const [row] = await t.db.select().from(profiles).where(eq(profiles.id, primary.id));
      expect(row!.displayName).toBe(name);
      // Leave one identity primary and room for the next round.
      await t.request('DELETE', `/identities/${primary.id}`, { token });
    }
    const rows = await t.db.select().from(profiles).where(eq(profiles.userId, user.id));
    expect(rows.filter((r) => r.isPrimary)).toHaveLength(1);
  });
});
