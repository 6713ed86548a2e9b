import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SoftAuthenticator } from '../helpers/webauthn';
import { request, signIn, uniqueEmail } from './client';

// The test worker runs with `--var ORIGIN:http://localhost:5173` (test/worker/setup.ts) and no
// RP_ID, so its relying party id is that origin's host, `localhost`: the software authenticator
// signs for that origin, and takes the rp id from the options the worker sends.
const ORIGIN = 'http://localhost:5173';
// An address of this file's own, so that its rate-limit buckets are not shared with other files.
const headers = { 'cf-connecting-ip': '198.51.100.41' };

const sql = postgres(inject('workerDatabaseUrl'), { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

/** A code sign-in, then a passkey registered on a fresh software authenticator. */
async function accountWithPasskey(name = 'Laptop') {
  const account = await signIn(uniqueEmail('passkey'), headers);
  const authenticator = new SoftAuthenticator(ORIGIN);
  const options = await request('POST', '/auth/passkeys/register/options', { token: account.token, headers });
  expect(options.status).toBe(200);
  expect(options.body).toMatchObject({ rp: { id: 'localhost' }, user: { name: account.email }, attestation: 'none' });
  const credential = await authenticator.register(options.body);
  const registered = await request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name }, headers });
  expect(registered.status).toBe(201);
  return { ...account, authenticator, passkey: registered.body.passkey };
}

async function authenticationOptions() {
  const res = await request('POST', '/auth/passkeys/authenticate/options', { headers });
  expect(res.status).toBe(200);
  return res.body;
}

describe('passkeys on Workers', () => {
  it('registers a passkey after a code sign-in and stores it in PostgreSQL', async () => {
    const account = await accountWithPasskey('  Work laptop ');
    expect(account.passkey).toMatchObject({ id: expect.any(String), name: 'Work laptop', lastUsedAt: null });
    const rows = await sql<{ credential_id: string; counter: number }[]>`
      select credential_id, counter::int as counter from passkeys where user_id = ${account.user.id}`;
    expect(rows).toEqual([{ credential_id: account.authenticator.credentials[0]!.id, counter: 0 }]);
  });

  it('signs in with the passkey: options → verify → POST /auth/sessions method passkey', async () => {
    const account = await accountWithPasskey();
    const options = await authenticationOptions();
    expect(options).toMatchObject({ rpId: 'localhost', allowCredentials: [], challenge: expect.any(String) });

    const assertion = await account.authenticator.authenticate(options);
    const verified = await request('POST', '/auth/passkeys/authenticate/verify', { body: assertion, headers });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ token: expect.stringMatching(/^[\w-]{43}$/), email: account.email, expiresAt: expect.any(String) });

    // The same assertion again: its challenge was consumed by the first answer.
    const replay = await request('POST', '/auth/passkeys/authenticate/verify', { body: assertion, headers });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('unauthorized');

    const session = await request('POST', '/auth/sessions', {
      body: { method: 'passkey', email: verified.body.email, token: verified.body.token },
      headers,
    });
    expect(session.status).toBe(201);
    expect(session.body.session).toMatchObject({ method: 'passkey', current: true });
    expect(session.body.user).toMatchObject({ id: account.user.id, email: account.email });
    expect(session.headers.get('set-cookie')).toContain(`session=${session.body.token}`);

    // The sign-in token is one-time too.
    const again = await request('POST', '/auth/sessions', {
      body: { method: 'passkey', email: verified.body.email, token: verified.body.token },
      headers,
    });
    expect(again.status).toBe(401);

    const current = await request('GET', '/auth/sessions/current', { token: session.body.token, headers });
    expect(current.status).toBe(200);
    expect(current.body.session.method).toBe('passkey');
    const [row] = await sql<{ counter: number }[]>`select counter::int as counter from passkeys where id = ${account.passkey.id}`;
    expect(row!.counter).toBe(1);
  });

  it('refuses an assertion signed for another origin', async () => {
    const { authenticator } = await accountWithPasskey();
    const assertion = await authenticator.authenticate(await authenticationOptions(), { origin: 'https://evil.example' });
    const res = await request('POST', '/auth/passkeys/authenticate/verify', { body: assertion, headers });
    expect(res.status).toBe(401);
  });

  it('lists and deletes the passkey; a deleted passkey no longer signs in', async () => {
    const account = await accountWithPasskey('Phone');
    const list = await request('GET', '/auth/passkeys', { token: account.token, headers });
    expect(list.status).toBe(200);
    expect(list.body.passkeys).toEqual([account.passkey]);

    const removed = await request('DELETE', `/auth/passkeys/${account.passkey.id}`, { token: account.token, headers });
    expect(removed.status).toBe(204);
    expect((await request('GET', '/auth/passkeys', { token: account.token, headers })).body.passkeys).toEqual([]);
    const twice = await request('DELETE', `/auth/passkeys/${account.passkey.id}`, { token: account.token, headers });
    expect(twice.status).toBe(404);

    const assertion = await account.authenticator.authenticate(await authenticationOptions());
    expect((await request('POST', '/auth/passkeys/authenticate/verify', { body: assertion, headers })).status).toBe(401);
  });
});
