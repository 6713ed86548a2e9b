import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './helpers/app';

let t: TestContext;
let token: string;
beforeAll(async () => {
  t = await createTestContext();
  token = (await t.signIn()).token;
});
afterAll(() => t.close());

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+|stack/i);
}

describe('bad input gets a 4xx in the error shape', () => {
  const bodies: [string, unknown][] = [
    ['not JSON', '{"email":'],
    ['a JSON string', '"hello"'],
    ['null', 'null'],
    ['an array', '[]'],
    ['no email', {}],
    ['email of the wrong type', { email: 42 }],
    ['an invalid email', { email: 'not-an-email' }],
    ['an email over 254 characters', { email: `${'a'.repeat(250)}@example.com` }],
  ];
  for (const [label, body] of bodies) {
    it(`POST /auth/verify with ${label} → 400`, async () => {
      const res = await t.request('POST', '/auth/verify', { body });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]));
    });
  }

  it('POST /auth/verify without a JSON content type → 400', async () => {
    const res = await t.request('POST', '/auth/verify', { body: '{"email":"a@example.com"}', headers: { 'content-type': 'text/plain' } });
    expectError(res, 400, 'invalid_request');
  });

  const signIns: [string, unknown][] = [
    ['not JSON', '{'],
    ['an unknown method', { method: 'password', email: 'a@example.com', token: '123456' }],
    ['no token', { method: 'otp', email: 'a@example.com' }],
    ['an empty token', { method: 'otp', email: 'a@example.com', token: '' }],
    ['a numeric token', { method: 'otp', email: 'a@example.com', token: 123456 }],
    ['a token of 10k characters', { method: 'otp', email: 'a@example.com', token: 'x'.repeat(10_000) }],
    ['a bad email', { method: 'otp', email: 'nope', token: '123456' }],
  ];
  for (const [label, body] of signIns) {
    it(`POST /auth/sessions with ${label} → 400`, async () => {
      const res = await t.request('POST', '/auth/sessions', { body });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]));
    });
  }

  it('a body over 64 KiB → 413 payload_too_large', async () => {
    const body = JSON.stringify({ email: 'a@example.com', pad: 'x'.repeat(70 * 1024) });
    expectError(await t.request('POST', '/auth/verify', { body }), 413, 'payload_too_large');
    expectError(await t.request('POST', '/auth/sessions', { body }), 413, 'payload_too_large');
  });

  it('a body over 64 KiB without Content-Length (streamed) → 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await t.app.request('/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expectError({ status: res.status, body: await res.json() }, 413, 'payload_too_large');
  });

  it('unknown routes and methods → 404 not_found', async () => {
    expectError(await t.request('GET', '/nope'), 404, 'not_found');
    expectError(await t.request('POST', '/auth'), 404, 'not_found');
    expectError(await t.request('PUT', '/auth/sessions/current', { token }), 404, 'not_found');
  });

  it('session routes without credentials → 401', async () => {
    for (const [method, path] of [
      ['GET', '/auth/sessions'],
      ['DELETE', '/auth/sessions'],
      ['GET', '/auth/sessions/current'],
      ['GET', '/auth/sessions/current/permissions'],
      ['DELETE', '/auth/sessions/0190f1f0-0000-7000-8000-000000000000'],
    ] as const) {
      expectError(await t.request(method, path), 401, 'unauthorized');
    }
  });

  it('revoking a malformed or unknown session id → 404', async () => {
    for (const id of ['x', '%27%3B--', 'a'.repeat(64), '0190f1f0-0000-7000-8000-000000000000']) {
      expectError(await t.request('DELETE', `/auth/sessions/${id}`, { token }), 404, 'not_found');
    }
    expectError(await t.request('DELETE', `/auth/sessions/${'a'.repeat(65)}`, { token }), 400, 'invalid_request');
  });

  it('a token with odd characters or excessive length is just unauthorized', async () => {
    for (const bad of ['a.b.c', '.', 'x'.repeat(5000), `${'é'.repeat(10)}.x`]) {
      expectError(await t.request('GET', '/auth/sessions/current', { headers: { authorization: `Bearer ${bad}` } }), 401, 'unauthorized');
    }
  });
});

describe('a request that outlives its account', () => {
  it('answers 401 unauthorized, not 500, when a foreign key breaks under it (the account was deleted meanwhile)', async () => {
    const { Hono } = await import('hono');
    const { createErrorHandler } = await import('../src/http/errors');
    const logged: string[] = [];
    const app = new Hono().get('/', () => {
      // What Drizzle throws around the driver's error when an insert references a deleted row.
      throw new Error('Failed query', { cause: Object.assign(new Error('insert violates foreign key constraint'), { code: '23503' }) });
    });
    app.onError(createErrorHandler({ log: (level: string, msg: string) => void logged.push(`${level} ${msg}`) } as never));
    const res = await app.request('/');
    expectError({ status: res.status, body: await res.json() }, 401, 'unauthorized');
    expect(logged).toEqual(['info request outlived its account']);
  });
});
