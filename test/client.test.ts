import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createClient } from '../src/client';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';

let t: TestContext;
const seen: RequestInit[] = [];
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

const client = (options: Parameters<typeof createClient>[1] = {}) =>
  createClient('http://localhost:3000', {
    ...options,
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(init ?? {});
      return t.app.request(input instanceof Request ? input : String(input), init);
    },
  });

describe('typed client', () => {
  it('signs in with a code and reads the current session', async () => {
    const api = client();
    const email = uniqueEmail();

    const verify = await api.auth.verify.$post({ json: { email } });
    expect(verify.status).toBe(202);
    if (verify.status !== 202) return;
    expectTypeOf(await verify.json()).toEqualTypeOf<{ expiresAt: string }>();

    const signIn = await api.auth.sessions.$post({ json: { method: 'otp', email, token: t.lastCode(email) } });
    expect(signIn.status).toBe(201);
    if (signIn.status !== 201) return;
    const { token, session, user } = await signIn.json();
    expectTypeOf(token).toEqualTypeOf<string>();
    expectTypeOf(session.method).toEqualTypeOf<'otp' | 'passkey'>();
    expect(user.email).toBe(email);
    expect(signIn.headers.get('set-cookie')).toContain('session=');

    const authed = client({ headers: { authorization: `Bearer ${token}` } });
    const current = await authed.auth.sessions.current.$get();
    expect(current.status).toBe(200);
    if (current.status !== 200) return;
    const body = await current.json();
    expectTypeOf(body.session.current).toEqualTypeOf<boolean>();
    expect(body.session.id).toBe(session.id);
    expect(body.user.id).toBe(user.id);

    const revoke = await authed.auth.sessions[':id'].$delete({ param: { id: session.id } });
    expect(revoke.status).toBe(204);
    expect((await authed.auth.sessions.current.$get()).status).toBe(401);
  });

  it('types errors in the contract shape', async () => {
    const res = await client().auth.sessions.$post({ json: { method: 'otp', email: uniqueEmail(), token: '000000' } });
    expect(res.status).toBe(401);
    if (res.status === 201) throw new Error('signed in with a made-up code');
    const body = await res.json();
    expectTypeOf(body.error.code).toEqualTypeOf<string>();
    expect(body.error.code).toBe('invalid_code');
  });

  it('sends cookies by default (credentials: include) and lets the caller override it', async () => {
    seen.length = 0;
    await client().healthz.$get();
    expect(seen.at(-1)?.credentials).toBe('include');
    await client({ init: { credentials: 'omit' } }).healthz.$get();
    expect(seen.at(-1)?.credentials).toBe('omit');
  });
});
