import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { describe, expect, it } from 'vitest';
import { limitBody } from '../src/http/body-limit';
import { corsFixedHeaders, corsHeaders, type CorsOptions } from '../src/http/cors';
import type { AppEnv } from '../src/http/env';
import { createPooledRandom, type Random } from '../src/ports/random';

const ALLOWED = 'https://app.example.com';
const options: CorsOptions = {
  origins: [ALLOWED],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['Content-Type', 'Authorization'],
  exposeHeaders: ['Retry-After', 'X-Request-Id'],
  maxAge: 600,
};

/** An app answering with a header of its own, behind `middleware`. */
const appWith = (middleware: MiddlewareHandler) =>
  new Hono()
    .use(middleware)
    .all('/', (c) => c.json({ ok: true }, 200, { 'X-Route': 'yes' }))
    .get('/raw', () => new Response('raw', { status: 418 }));

const headersOf = (res: Response) => Object.fromEntries(res.headers);

describe('corsHeaders', () => {
  it("gives every request what hono's cors gives it, preflights included, but credentials only with an allowed origin", async () => {
    const ours = appWith(corsHeaders(options));
    const hono = appWith(cors({ origin: (o) => (options.origins.includes(o) ? o : null), credentials: true, ...options }));
    const requests: [string, RequestInit][] = [
      ['/', {}],
      ['/', { headers: { origin: ALLOWED } }],
      ['/', { headers: { origin: 'https://evil.example' } }],
      ['/', { method: 'POST', headers: { origin: ALLOWED } }],
      ['/raw', { headers: { origin: ALLOWED } }],
      ['/', { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST' } }],
    ];
    for (const [path, init] of requests) {
      const [a, b] = [await ours.request(path, init), await hono.request(path, init)];
      expect(a.status, `${init.method ?? 'GET'} ${path}`).toBe(b.status);
      // hono's cors says Allow-Credentials to every origin; ours only where it names the origin.
      const expected = headersOf(b);
      if (!('access-control-allow-origin' in expected)) delete expected['access-control-allow-credentials'];
      expect(headersOf(a), `${init.method ?? 'GET'} ${path}`).toEqual(expected);
    }
  });

  it('leaves the fixed headers to a runtime that writes them, and still names an allowed origin', async () => {
    const res = await appWith(corsHeaders({ ...options, fixedWritten: true })).request('/', { headers: { origin: ALLOWED } });
    expect(headersOf(res)).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-credentials': 'true',
      'content-type': 'application/json',
      'x-route': 'yes',
    });
    expect(corsFixedHeaders(options)).toEqual({
      'Access-Control-Expose-Headers': 'Retry-After,X-Request-Id',
      Vary: 'Origin',
    });
  });
});

describe('limitBody', () => {
  const app = (unframedIsEmpty: boolean) =>
    new Hono<AppEnv>()
      .use(limitBody(8, { unframedIsEmpty }))
      .post('/', async (c) => c.json({ body: await c.req.text() }))
      .get('/', (c) => c.json({ ok: true }));
  const chunked = (text: string) =>
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    });

  for (const unframedIsEmpty of [false, true]) {
    it(`refuses a body over the limit by its length or as it streams (unframedIsEmpty: ${unframedIsEmpty})`, async () => {
      const a = app(unframedIsEmpty);
      // As a runtime frames them: with their Content-Length.
      expect((await a.request('/', { method: 'POST', headers: { 'content-length': '8' }, body: '12345678' })).status).toBe(200);
      expect((await a.request('/', { method: 'POST', headers: { 'content-length': '9' }, body: '123456789' })).status).toBe(413);
      // A Content-Length is taken at its word, before any of the body is read.
      expect((await a.request('/', { method: 'POST', headers: { 'content-length': '9' }, body: '1' })).status).toBe(413);
      // A body without Content-Length (a stream: fetch sends it chunked) is counted as it is read,
      // unless the runtime says a request without framing headers has none (Node's HTTP/1.1
      // server, where such a body always comes with Transfer-Encoding and is counted).
      const streamed = (text: string) => ({ method: 'POST', body: chunked(text), duplex: 'half' }) as RequestInit;
      expect((await a.request('/', streamed('123456789'))).status).toBe(unframedIsEmpty ? 200 : 413);
      expect((await (await a.request('/', streamed('1234'))).json()) as unknown).toEqual({ body: '1234' });
      expect((await a.request('/')).status).toBe(200);
    });
  }
});

describe('createPooledRandom', () => {
  it('hands out fresh slices of its source, drawn a pool at a time, and wipes them from the pool', () => {
    const calls: Uint8Array[] = [];
    let counter = 0;
    const source: Random = {
      bytes(n) {
        const out = Uint8Array.from({ length: n }, () => (counter++ % 255) + 1);
        calls.push(out);
        return out;
      },
    };
    const random = createPooledRandom(source, 64);
    const a = random.bytes(12);
    const b = random.bytes(12);
    expect(calls).toHaveLength(1);
    expect([...a]).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect([...b]).toEqual(Array.from({ length: 12 }, (_, i) => i + 13));
    // Handed-out bytes are copies, and gone from the pool.
    expect([...calls[0]!.subarray(0, 24)].every((x) => x === 0)).toBe(true);
    a.fill(9);
    expect(random.bytes(12)[0]).toBe(25);
    // Past the pool, a new one is drawn; a large request goes to the source directly.
    random.bytes(30);
    expect(calls).toHaveLength(2);
    expect(random.bytes(40)).toHaveLength(40);
    expect(calls).toHaveLength(3);
  });

  it('gives distinct random bytes from the system source', () => {
    const random = createPooledRandom();
    const seen = new Set(Array.from({ length: 2000 }, () => Buffer.from(random.bytes(16)).toString('hex')));
    expect(seen.size).toBe(2000);
  });
});
