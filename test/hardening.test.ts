import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorHandler } from '../src/http/errors';
import type { Logger } from '../src/ports/logger';
import { createTestContext, ORIGIN, type TestContext } from './helpers/app';
import { SoftAuthenticator } from './helpers/webauthn';

// Inputs a careful attacker or a sloppy client sends that the happy-path tests do not: NUL
// characters PostgreSQL cannot store, bodies that are not JSON, driver errors caused by input,
// clients that hang up, and the cookie's Secure flag behind a TLS proxy.

let t: TestContext;
let token: string;
beforeAll(async () => {
  t = await createTestContext();
  token = (await t.signIn()).token;
});
afterAll(() => t.close());

function expectInvalid(res: { status: number; body: any }, path?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe('invalid_request');
  if (path !== undefined) expect(res.body.error.issues).toContainEqual(expect.objectContaining({ path }));
}

describe('NUL characters', () => {
  it('in a profile field → 400 naming the field, and nothing is stored', async () => {
    const res = await t.request('POST', '/identities', { token, body: { handle: 'nuluser', displayName: 'a\u0000b' } });
    expectInvalid(res, 'displayName');
    expect((await t.request('GET', '/identities', { token })).body.identities).toEqual([]);
  });

  it('in a nested field of a passkey response → 400 naming its path', async () => {
    const body = {
      id: 'abc',
      rawId: 'abc',
      type: 'public-key',
      response: { clientDataJSON: 'abc', authenticatorData: 'abc', signature: 'abc', userHandle: 'abc' },
      clientExtensionResults: { appid: 'x\u0000' },
    };
    expectInvalid(await t.request('POST', '/auth/passkeys/authenticate/verify', { body }), 'clientExtensionResults.appid');
  });

  it('in a passkey name → 400, and no passkey is registered', async () => {
    const options = await t.request('POST', '/auth/passkeys/register/options', { token });
    const credential = await new SoftAuthenticator(ORIGIN).register(options.body);
    const res = await t.request('POST', '/auth/passkeys/register/verify', { token, body: { ...credential, name: 'Lap\u0000top' } });
    expectInvalid(res, 'name');
    expect((await t.request('GET', '/auth/passkeys', { token })).body.passkeys).toEqual([]);
  });

  it('in an identity id → 400 naming it, on every identity route', async () => {
    for (const [method, path] of [['GET', '/identities/a%00b'], ['PATCH', '/identities/a%00b'], ['POST', '/identities/a%00b/primary'], ['DELETE', '/identities/%00']] as const) {
      expectInvalid(await t.request(method, path, { token, body: method === 'PATCH' ? { displayName: 'x' } : undefined }), 'identityId');
    }
  });

  it('in a sign-in token → 400, not a wrong try', async () => {
    expectInvalid(await t.request('POST', '/auth/sessions', { body: { method: 'otp', email: 'nul@example.com', token: '12345\u0000' } }), 'token');
  });
});

describe('bodies that are not JSON', () => {
  it('a JSON text sent as text/plain → 400 that names the Content-Type', async () => {
    const res = await t.request('POST', '/auth/verify', { body: '{"email":"a@example.com"}', headers: { 'content-type': 'text/plain' } });
    expectInvalid(res, '');
    expect(res.body.error.message).toMatch(/Content-Type: application\/json/);
  });

  it('a form post → 400', async () => {
    const res = await t.request('POST', '/auth/sessions', {
      body: 'method=otp&email=a%40example.com&token=123456',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectInvalid(res);
  });

  it('an oversized non-JSON body → 413', async () => {
    const res = await t.request('POST', '/auth/verify', { body: 'x'.repeat(70 * 1024), headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('a POST without a body still works where the body is optional', async () => {
    const res = await t.request('POST', '/auth/passkeys/authenticate/options');
    expect(res.status).toBe(200);
    expect(res.body.challenge).toEqual(expect.any(String));
  });

  it('application/*+json is JSON', async () => {
    const res = await t.request('POST', '/auth/verify', { body: { email: 'plus-json@example.com' }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(res.status).toBe(202);
  });
});

describe('the error handler', () => {
  function appThrowing(error: unknown, lines: { level: string; msg: string }[]) {
    const log: Logger = { log: (level, msg) => void lines.push({ level, msg }) };
    return new Hono()
      .onError(createErrorHandler(log))
      .get('/', () => {
        throw error;
      });
  }

  it("answers PostgreSQL's data exceptions (SQLSTATE class 22), wrapped or not, with 400", async () => {
    for (const code of ['22021', '22P05', '22P02', '22001']) {
      const driverError = Object.assign(new Error('invalid byte sequence'), { code });
      for (const error of [driverError, new Error('Failed query', { cause: driverError })]) {
        const res = await appThrowing(error, []).request('/');
        expect(res.status, code).toBe(400);
        expect(((await res.json()) as any).error.code).toBe('invalid_request');
      }
    }
  });

  it('still answers a lost database with 503 and any other error with 500', async () => {
    const lost = await appThrowing(new Error('Failed query', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }), []).request('/');
    expect(lost.status).toBe(503);
    const lines: { level: string; msg: string }[] = [];
    const bug = await appThrowing(Object.assign(new Error('syntax error'), { code: '42601' }), lines).request('/');
    expect(bug.status).toBe(500);
    expect(lines).toContainEqual({ level: 'error', msg: 'unhandled error' });
  });

  it('does not take a client that hung up for a lost database', async () => {
    const lines: { level: string; msg: string }[] = [];
    const abort = new AbortController();
    abort.abort();
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const res = await appThrowing(reset, lines).request(new Request('http://localhost/', { signal: abort.signal }));
    expect(res.status).toBe(400);
    expect(lines).toEqual([{ level: 'info', msg: 'request aborted by the client' }]);
  });
});

describe('the Secure flag of the session cookie', () => {
  async function cookieFor(env: Record<string, string>, headers: Record<string, string>) {
    const ctx = await createTestContext(env, { database: t.database });
    const email = `secure-${Object.keys(headers).length}-${env.ORIGIN ?? 'default'}@example.com`.replace(/[^a-z0-9@.-]/g, '');
    await ctx.requestCode(email);
    const res = await ctx.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: ctx.lastCode(email) }, headers });
    expect(res.status).toBe(201);
    return res.headers.get('set-cookie')!;
  }

  it('is off for an http page and server', async () => {
    expect(await cookieFor({}, { origin: ORIGIN })).not.toMatch(/;\s*Secure/i);
  });

  it('is on when the calling page is an allowed https origin, even if the server is reached over http', async () => {
    const cookie = await cookieFor({ ORIGIN: 'https://app.example.com' }, { origin: 'https://app.example.com' });
    expect(cookie).toMatch(/;\s*Secure/i);
  });

  it('is on when ISSUER is https', async () => {
    expect(await cookieFor({ ISSUER: 'https://auth.example.com' }, {})).toMatch(/;\s*Secure/i);
  });

  it('an https Origin that is not allowed does not switch it on', async () => {
    expect(await cookieFor({}, { origin: 'https://evil.example' })).not.toMatch(/;\s*Secure/i);
  });
});
