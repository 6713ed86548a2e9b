import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { request, signIn, uniqueEmail } from './client';

// Profiles (`/identities`) lock the user's row in a transaction to count and to move the primary
// flag; on Workers that is a postgres.js transaction over the request's own client, through
// Hyperdrive. The races below are what proves it holds there.
const headers = { 'cf-connecting-ip': '198.51.100.43' };

const sql = postgres(inject('workerDatabaseUrl'), { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

let handles = 0;
const uniqueHandle = (prefix = 'w') => `${prefix}_${process.pid}_${++handles}`;

const account = () => signIn(uniqueEmail('profiles'), headers);

function create(token: string, body: Record<string, unknown> = {}) {
  return request('POST', '/identities', { token, headers, body: { displayName: 'Someone', handle: uniqueHandle(), ...body } });
}

async function created(token: string, body: Record<string, unknown> = {}) {
  const res = await create(token, body);
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.identity;
}

const outcome = (res: { status: number; body: any }) => (res.status < 300 ? res.status : `${res.status} ${res.body.error?.code}`);

describe('profiles on Workers', () => {
  it('creates (the first is primary), lists, gets and patches; null clears a field', async () => {
    const { token } = await account();
    const handle = uniqueHandle('Ada');
    const first = await create(token, {
      displayName: 'Ada Lovelace',
      handle,
      email: ' ADA@Example.com ',
      birthday: '1815-12-10',
      avatarUrl: 'https://example.com/ada.png',
      bannerUrl: '#1a2B3c',
    });
    expect(first.status).toBe(201);
    expect(first.body.identity).toEqual({
      id: expect.any(String),
      displayName: 'Ada Lovelace',
      handle: handle.toLowerCase(),
      email: 'ada@example.com',
      birthday: '1815-12-10',
      avatarUrl: 'https://example.com/ada.png',
      bannerUrl: '#1a2B3c',
      isPrimary: true,
      createdAt: expect.any(String),
    });
    const second = await created(token, { displayName: 'Second' });
    expect(second.isPrimary).toBe(false);

    const list = await request('GET', '/identities', { token, headers });
    expect(list.status).toBe(200);
    expect(list.body.identities.map((i: { id: string }) => i.id)).toEqual([first.body.identity.id, second.id]);

    const one = await request('GET', `/identities/${second.id}`, { token, headers });
    expect(one.status).toBe(200);
    expect(one.body.identity).toEqual(second);

    const patched = await request('PATCH', `/identities/${first.body.identity.id}`, {
      token,
      headers,
      body: { displayName: 'Countess', email: null, birthday: null, bannerUrl: 'https://example.com/b.png' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.identity).toEqual({
      ...first.body.identity,
      displayName: 'Countess',
      email: null,
      birthday: null,
      bannerUrl: 'https://example.com/b.png',
    });
    expect((await request('GET', `/identities/${first.body.identity.id}`, { token, headers })).body.identity).toEqual(patched.body.identity);

    const bad = await request('PATCH', `/identities/${second.id}`, { token, headers, body: { avatarUrl: 'javascript:alert(1)' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  it('moves the primary flag, and refuses to delete the primary or the last identity', async () => {
    const { token, user } = await account();
    const only = await created(token);
    const last = await request('DELETE', `/identities/${only.id}`, { token, headers });
    expect(last.status).toBe(400);
    expect(last.body.error.code).toBe('last_identity');

    const other = await created(token);
    const primary = await request('DELETE', `/identities/${only.id}`, { token, headers });
    expect(primary.status).toBe(400);
    expect(primary.body.error.code).toBe('primary_identity');

    const moved = await request('POST', `/identities/${other.id}/primary`, { token, headers });
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ success: true });
    const flags = (await request('GET', '/identities', { token, headers })).body.identities.map((i: { id: string; isPrimary: boolean }) => [
      i.id,
      i.isPrimary,
    ]);
    expect(flags).toEqual([
      [only.id, false],
      [other.id, true],
    ]);

    const removed = await request('DELETE', `/identities/${only.id}`, { token, headers });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ success: true });
    expect((await request('GET', `/identities/${only.id}`, { token, headers })).status).toBe(404);
    const rows = await sql<{ id: string; is_primary: boolean }[]>`select id, is_primary from profiles where user_id = ${user.id}`;
    expect(rows).toEqual([{ id: other.id, is_primary: true }]);
  });

  it('keeps handles unique across users (handle_taken), whatever the case', async () => {
    const alice = await account();
    const bob = await account();
    const handle = uniqueHandle('Taken');
    await created(alice.token, { handle });
    const taken = await create(bob.token, { handle: handle.toUpperCase() });
    expect(taken.status).toBe(400);
    expect(taken.body.error.code).toBe('handle_taken');

    const mine = await created(bob.token);
    const rename = await request('PATCH', `/identities/${mine.id}`, { token: bob.token, headers, body: { handle } });
    expect(rename.status).toBe(400);
    expect(rename.body.error.code).toBe('handle_taken');

    // Another user's identity is not found, not forbidden.
    const theirs = (await request('GET', '/identities', { token: alice.token, headers })).body.identities[0];
    expect((await request('GET', `/identities/${theirs.id}`, { token: bob.token, headers })).status).toBe(404);
  });

  it('ten parallel creates leave exactly five identities and one primary (row lock through postgres.js)', async () => {
    const { token, user } = await account();
    const results = await Promise.all(Array.from({ length: 10 }, () => create(token)));
    expect(results.map(outcome).sort()).toEqual([
      201, 201, 201, 201, 201,
      '400 identity_limit', '400 identity_limit', '400 identity_limit', '400 identity_limit', '400 identity_limit',
    ]);
    const rows = await sql<{ is_primary: boolean }[]>`select is_primary from profiles where user_id = ${user.id}`;
    expect(rows).toHaveLength(5);
    expect(rows.filter((r) => r.is_primary)).toHaveLength(1);
  });

  it('two users racing for one handle get one 201 and one handle_taken', async () => {
    const alice = await account();
    const bob = await account();
    const handle = uniqueHandle('race');
    const results = await Promise.all([create(alice.token, { handle }), create(bob.token, { handle: handle.toUpperCase() })]);
    expect(results.map(outcome).sort()).toEqual([201, '400 handle_taken']);
  });

  it('needs a session token', async () => {
    const res = await request('GET', '/identities', { headers });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });
});
