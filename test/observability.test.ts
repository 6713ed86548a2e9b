import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import type { Deps } from '../src/deps';
import type { Logger } from '../src/ports/logger';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from './helpers/app';
import { createTestDatabase } from './helpers/db';

/** A logger that keeps each line as the JSON logger would write it. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, msg, fields) => void lines.push(JSON.stringify({ level, msg, ...fields })) };
}

let t: TestContext;
let log: ReturnType<typeof recordingLogger>;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  t = await createTestContext();
  log = recordingLogger();
  app = createApp({ ...t.deps, log }, { clientIp: () => '127.0.0.1' });
});
afterAll(() => t.close());

const send = (path: string, init: RequestInit & { json?: unknown } = {}) =>
  app.request(path, {
    ...init,
    headers: { ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });

describe('request logs', () => {
  it('log one line per request with its fields, and never a code, token or cookie', async () => {
    const email = uniqueEmail();
    log.lines.length = 0;
    expect((await send('/auth/verify', { method: 'POST', json: { email } })).status).toBe(202);
    const code = t.lastCode(email);
    const signIn = await send('/auth/sessions', { method: 'POST', json: { method: 'otp', email, token: code } });
    expect(signIn.status).toBe(201);
    const { token } = (await signIn.json()) as { token: string };
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const bearer = await send('/auth/sessions/current', { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    const basic = await send('/auth/sessions/current', { headers: { authorization: `Basic ${btoa(`token:${token}`)}` } });
    expect(basic.status).toBe(200);
    // a secret in a query string stays out of the log too
    expect((await send(`/auth/sessions/current?token=${token}&code=${code}`, { headers: { cookie } })).status).toBe(200);
    expect((await send('/auth/sessions', { method: 'DELETE', headers: { cookie, origin: ORIGIN } })).status).toBe(204);

    const requests = log.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(6);
    for (const line of requests) {
      expect(line).toEqual({
        level: 'info',
        msg: 'request',
        requestId: expect.stringMatching(/^[0-9a-f]{24}$/),
        method: expect.stringMatching(/^(GET|POST|DELETE)$/),
        path: expect.stringMatching(/^\/auth\//),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      });
    }
    expect(requests.map((l) => `${l.method} ${l.path} ${l.status}`)).toEqual([
      'POST /auth/verify 202',
      'POST /auth/sessions 201',
      'GET /auth/sessions/current 200',
      'GET /auth/sessions/current 200',
      'GET /auth/sessions/current 200',
      'DELETE /auth/sessions 204',
    ]);
    const [, secret] = token.split('.');
    for (const line of log.lines) {
      expect(line).not.toContain(code);
      expect(line).not.toContain(token);
      expect(line).not.toContain(secret);
      expect(line).not.toContain(cookie);
      expect(line).not.toContain(btoa(`token:${token}`));
      expect(line).not.toContain('a'.repeat(64)); // the test AUTH_SECRET
    }
  });

  it('answer with X-Request-Id: a sane incoming id is kept, anything else is replaced', async () => {
    const fresh = await send('/healthz');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f]{24}$/);
    const other = await send('/healthz');
    expect(other.headers.get('x-request-id')).not.toBe(fresh.headers.get('x-request-id'));

    const kept = await send('/healthz', { headers: { 'x-request-id': 'edge-1234_abc=' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-1234_abc=');
    expect(JSON.parse(log.lines.at(-1)!).requestId).toBe('edge-1234_abc=');

    for (const bad of ['a b', 'x'.repeat(200), '{"level":"error"}', 'ü']) {
      const res = await send('/healthz', { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{24}$/);
    }
  });

  it('carry the request id and status on errors and unknown routes', async () => {
    const res = await send('/auth/sessions', { method: 'POST', json: { method: 'otp' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const missing = await send('/nowhere?secret=1');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBeTruthy();
    const last = JSON.parse(log.lines.at(-1)!);
    expect(last).toMatchObject({ method: 'GET', path: '/nowhere', status: 404, requestId: missing.headers.get('x-request-id') });
  });
});

describe('health', () => {
  it('GET /healthz answers 200 { status: "ok" }', async () => {
    const res = await t.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the database answers', async () => {
    const res = await t.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 503 unavailable when it does not, while /healthz stays up', async () => {
    const database = await createTestDatabase();
    await database.close();
    const down: Deps = { ...t.deps, db: database.db, log };
    const downApp = createApp(down, { clientIp: () => '127.0.0.1' });
    const res = await downApp.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    expect((await downApp.request('/healthz')).status).toBe(200);
  });
});
