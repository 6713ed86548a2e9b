import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from '../helpers/app';
import { MINUTE } from '../helpers/clock';
import { createTestDatabase, driver, type TestDatabase } from '../helpers/db';
import { sendRaw } from '../helpers/raw-http';
import { startNodeServer, type RunningServer } from '../helpers/server';
import { startSmtpSink } from '../helpers/smtp';
import { describeRequest, operationsOf, problemWith, requestArbitrary, type FuzzRequest, type Known } from './requests';

// Property-based requests for every route of the OpenAPI document, from its own schemas and from
// hostile values. FUZZ_SEED replays a run; FUZZ_REQUESTS changes the in-process volume.
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const IN_PROCESS_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const OVER_HTTP_REQUESTS = 600;
const BATCH = 8;
const MAX_REPORTED = 15;

interface Tally {
  sent: number;
  byStatus: Map<number, number>;
  /** `POST /identities 201` → how many. */
  byRoute: Map<string, number>;
  failures: string[];
}

const newTally = (): Tally => ({ sent: 0, byStatus: new Map(), byRoute: new Map(), failures: [] });

/** What the file did, in one line at its end. */
const summary: string[] = [];
afterAll(() => console.log(`fuzz (${driver}, seed ${seed}): ${summary.join(', ') || 'nothing ran'}`));

function record(tally: Tally, request: FuzzRequest, status: number, problem: string | null, text: string): void {
  tally.sent++;
  tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
  const route = `${request.label} ${status}`;
  tally.byRoute.set(route, (tally.byRoute.get(route) ?? 0) + 1);
  if (problem && tally.failures.length < MAX_REPORTED) tally.failures.push(`${problem}: ${describeRequest(request)} → ${status} ${text.slice(0, 300)}`);
}

/** FUZZ_VERBOSE=1 prints how often each route answered each status. */
function printRoutes(tally: Tally): void {
  if (process.env.FUZZ_VERBOSE) console.log([...tally.byRoute].sort().map(([route, n]) => `${route}: ${n}`).join('\n'));
}

const statuses = (tally: Tally) => [...tally.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');

/** Requests that can end a session the fuzzer holds: afterwards the pool of tokens is checked. */
const endsSessions = (r: FuzzRequest, status: number) =>
  status < 300 &&
  (r.label.startsWith('DELETE /auth/sessions') ||
    r.label.includes('revoke-sessions') ||
    r.label === 'DELETE /auth/account' ||
    r.label.startsWith('DELETE /admin/users/') ||
    r.label.startsWith('POST /oauth/logout'));

describe('fuzzing the in-process app', () => {
  let t: TestContext;
  // Admin accounts to sign in as (a fuzzed sign-out may end one; each address has its own send limit).
  const adminEmails = Array.from({ length: 40 }, () => uniqueEmail('fuzz-admin'));
  const known: Known = { sessionTokens: [], owned: [], ownedProfiles: [], identityTokens: [], ids: [], origin: ORIGIN };

  beforeAll(async () => {
    t = await createTestContext({ ADMIN_EMAILS: adminEmails.join(',') });
  });
  afterAll(() => t?.close());

  /** Signs an account in (with one profile) into slot `slot` of the pool; its ids join the ones path parameters draw from. */
  let signIns = 0;
  async function account(slot: number, email = uniqueEmail('fuzz')): Promise<void> {
    // From an address of its own, so the per-IP send limit never stops the fuzzer's own sign-ins.
    const ip = `198.51.100.${++signIns % 250}`;
    const code = await t.requestCode(email, { 'x-forwarded-for': ip });
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code }, headers: { 'x-forwarded-for': ip } });
    expect(res.status).toBe(201);
    const { token, user, session } = res.body;
    const owned = [user.id, user.identity, session.id];
    // A returning account may hold its five profiles already (the fuzzer creates some).
    const handle = `fz${Math.random().toString(36).slice(2, 12)}`;
    const profile = await t.request('POST', '/identities', { token, body: { displayName: 'Fuzz', handle } });
    const profileIds = profile.status === 201 ? [profile.body.identity.id as string] : [];
    owned.push(...profileIds);
    known.ids.push(...owned);
    known.sessionTokens[slot] = token;
    known.owned[slot] = owned;
    known.ownedProfiles![slot] = profileIds;
  }

  it(`answers ${IN_PROCESS_REQUESTS} generated requests without a 5xx, every error in the contract's shape`, async () => {
    await account(0, adminEmails.shift());
    await account(1);
    await account(2);
    const anonymous = await t.request('POST', '/v1/identity');
    expect(anonymous.status).toBe(200);
    known.identityTokens.push(anonymous.body.token);
    known.ids.push(anonymous.body.identity);

    const document = await t.request('GET', '/openapi.json');
    expect(document.status).toBe(200);
    const operations = operationsOf(document.body);
    expect(operations.length).toBeGreaterThan(30);

    const tally = newTally();
    let batches = 0;
    let sending = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(requestArbitrary(operations, known), { minLength: BATCH, maxLength: BATCH }), async (requests) => {
        const sent = performance.now();
        const answers = await Promise.all(requests.map((r) => sendInProcess(t, r)));
        sending += performance.now() - sent;
        answers.forEach(({ status, problem, text }, i) => record(tally, requests[i]!, status, problem, text));
        if (requests.some((r, i) => endsSessions(r, answers[i]!.status))) await refreshSessions();
        // Let rate-limit windows pass now and then, so later requests get past the limits again.
        if (++batches % 200 === 0) t.clock.advance(16 * MINUTE);
      }),
      { seed, numRuns: Math.ceil(IN_PROCESS_REQUESTS / BATCH), endOnFailure: true },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`fuzz (in-process, ${driver}): seed=${seed} requests=${tally.sent} in ${seconds} s (${(sending / 1000).toFixed(1)} s answering); statuses ${statuses(tally)}`);

    printRoutes(tally);
    summary.push(`${tally.sent} requests in-process with ${tally.failures.length} failures`);

    expect(tally.sent).toBeGreaterThanOrEqual(IN_PROCESS_REQUESTS);
    expect(tally.failures).toEqual([]);
    // The generated requests got past validation and authentication into the domain, too.
    for (const route of ['POST /auth/verify 202', 'POST /identities 201', 'PATCH /identities/{identityId} 200', 'GET /auth/sessions 200']) {
      expect(tally.byRoute.get(route) ?? 0, route).toBeGreaterThan(0);
    }

    // Still serving: a fresh sign-in and a session check.
    const after = await t.signIn();
    expect((await t.request('GET', '/auth/sessions/current', { token: after.token })).status).toBe(200);
    expect((await t.request('GET', '/readyz')).status).toBe(200);
  });

  it('answers a body nested 30,000 arrays deep (found by the fuzzer: it overflowed the NUL check) with a 4xx', async () => {
    const deep = (depth: number, leaf: string) => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
    const credential = (extensions: string) =>
      `{"id":"abc","rawId":"abc","type":"public-key","clientExtensionResults":{"deep":${extensions}},"response":{"clientDataJSON":"abc","authenticatorData":"abc","signature":"abc"}}`;
    for (const depth of [5_000, 30_000]) {
      const res = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: credential(deep(depth, '"x"')) });
      expect(res.status, `depth ${depth}`).toBe(401);
      // The NUL check still finds a NUL at the bottom, and names where it is.
      const nul = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: credential(deep(depth, '"\\u0000"')) });
      expect(nul.status).toBe(400);
      expect(nul.body.error.issues[0].path).toBe(`clientExtensionResults.deep${'.0'.repeat(depth)}`);
    }
  });

  /** Replaces the pool's tokens that a fuzzed sign-out or revocation ended. */
  async function refreshSessions() {
    for (let i = 0; i < known.sessionTokens.length; i++) {
      const res = await t.request('GET', '/auth/sessions/current', { token: known.sessionTokens[i] });
      if (res.status === 401) await account(i, i === 0 ? adminEmails.shift() : undefined);
    }
  }
});

async function sendInProcess(t: TestContext, r: FuzzRequest): Promise<{ status: number; problem: string | null; text: string }> {
  const headers = new Headers(r.headers);
  if (r.body && r.framing === 'short-length') headers.set('content-length', String(Math.max(0, r.body.length - 1)));
  if (r.body && r.framing === 'long-length') headers.set('content-length', String(r.body.length + 10));
  if (r.body && r.framing === 'chunked') headers.set('transfer-encoding', 'chunked');
  // Building the Request is the test's side; what the app does with it is under test.
  const request = new Request(`http://localhost${r.target}`, { method: r.method, headers, body: r.body as BodyInit | undefined });
  let response: Response;
  try {
    response = await t.app.fetch(request);
  } catch (error) {
    return { status: 599, problem: `the app threw ${String(error)}`, text: '' };
  }
  const text = await response.text();
  return { status: response.status, problem: problemWith(r.method, response.status, response.headers, text, r.target), text };
}

describe('fuzzing a real server process over HTTP', () => {
  let server: RunningServer;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let database: TestDatabase | undefined;
  let dataDir: string;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    dataDir = mkdtempSync(join(tmpdir(), 'auth-fuzz-'));
    if (driver === 'postgres') database = await createTestDatabase();
    const env: Record<string, string> = database
      ? { DATABASE_URL: database.url!, AUTH_SECRET: 'c'.repeat(64) }
      : { DATA_DIR: join(dataDir, 'data') };
    // TRUST_PROXY: hostile X-Forwarded-For values then reach the database as client addresses.
    server = await startNodeServer({ ...env, SMTP_URL: smtp.url, TRUST_PROXY: 'on' });
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function post(path: string, body?: unknown, token?: string) {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  async function signIn(email: string) {
    expect((await post('/auth/verify', { email })).status).toBe(202);
    const code = (await smtp.waitFor(email)).text.match(/\b(\d{6})\b/)![1];
    const res = await post('/auth/sessions', { method: 'otp', email, token: code });
    expect(res.status).toBe(201);
    return res.body as { token: string; user: { id: string; identity: string }; session: { id: string } };
  }

  it(`answers ${OVER_HTTP_REQUESTS} generated requests, sent byte for byte, without a 5xx and stays up`, async () => {
    const known: Known = { sessionTokens: [], owned: [], identityTokens: [], ids: [], origin: `http://localhost:${server.port}` };
    for (const email of [uniqueEmail('raw'), uniqueEmail('raw')]) {
      const { token, user, session } = await signIn(email);
      known.sessionTokens.push(token);
      known.owned.push([user.id, user.identity, session.id]);
      known.ids.push(user.id, user.identity, session.id);
    }
    const anonymous = await post('/v1/identity');
    known.identityTokens.push(anonymous.body.token);
    known.ids.push(anonymous.body.identity);
    const operations = operationsOf(await (await fetch(`${server.url}/openapi.json`)).json());

    const tally = newTally();
    let unanswered = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ weight: 6, arbitrary: requestArbitrary(operations, known).map(toWire) }, { weight: 1, arbitrary: rawOnly }), { minLength: 4, maxLength: 4 }), async (wires) => {
        const outcomes = await Promise.all(wires.map((w) => sendRaw(server.port, w.bytes, { halfClose: w.halfClose })));
        outcomes.forEach((outcome, i) => {
          const wire = wires[i]!;
          if (outcome.kind === 'answer') {
            const { status, headers, body } = outcome.answer;
            record(tally, wire.request, status, problemWith(wire.request.method, status, headers, body, wire.request.target), body);
          } else if (outcome.kind === 'closed' && wire.mayGoUnanswered) {
            // The client gave up mid-body or sent more than the server reads: no answer is owed.
            tally.sent++;
            unanswered++;
          } else {
            record(tally, wire.request, 0, outcome.kind === 'timeout' ? 'no answer within 20 s' : `connection closed without an answer (${outcome.reason})`, '');
          }
        });
      }),
      { seed, numRuns: Math.ceil(OVER_HTTP_REQUESTS / 4), endOnFailure: true },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`fuzz (server process over HTTP, ${driver}): seed=${seed} requests=${tally.sent} in ${seconds} s; statuses ${statuses(tally)}; unanswered (client gave up) ${unanswered}`);

    printRoutes(tally);
    summary.push(`${tally.sent} byte for byte to a server process over HTTP with ${tally.failures.length} failures`);
    expect(tally.sent).toBeGreaterThanOrEqual(OVER_HTTP_REQUESTS);
    expect(tally.failures).toEqual([]);
    expect(server.process.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/"unhandled error"|"level":"error"/);
    const after = await signIn(uniqueEmail('after'));
    const current = await fetch(`${server.url}/auth/sessions/current`, { headers: { authorization: `Bearer ${after.token}` } });
    expect(current.status).toBe(200);
  });
});

interface Wire {
  request: FuzzRequest;
  bytes: Uint8Array;
  halfClose: boolean;
  mayGoUnanswered: boolean;
}

const latin1 = (text: string) => Buffer.from(text, 'latin1');

/** A generated request as HTTP/1.1 bytes, framed as it says (right, chunked, too short or too long a Content-Length). */
function toWire(r: FuzzRequest): Wire {
  const lines = [`${r.method} ${r.target.startsWith('/') ? r.target : `/${r.target}`} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(r.headers)) lines.push(`${name}: ${value}`);
  const body = r.body ? Buffer.from(r.body) : undefined;
  let tail: Buffer = Buffer.alloc(0);
  let halfClose = false;
  let mayGoUnanswered = false;
  if (body) {
    if (r.framing === 'chunked') {
      lines.push('Transfer-Encoding: chunked');
      const half = Math.floor(body.length / 2);
      const chunk = (b: Buffer) => (b.length ? Buffer.concat([latin1(`${b.length.toString(16)}\r\n`), b, latin1('\r\n')]) : Buffer.alloc(0));
      tail = Buffer.concat([chunk(body.subarray(0, half)), chunk(body.subarray(half)), latin1('0\r\n\r\n')]);
    } else if (r.framing === 'long-length') {
      lines.push(`Content-Length: ${body.length + 10}`);
      tail = body;
      halfClose = true;
      mayGoUnanswered = true;
    } else if (r.framing === 'short-length') {
      lines.push(`Content-Length: ${Math.max(0, body.length - 1)}`);
      tail = body;
    } else {
      lines.push(`Content-Length: ${body.length}`);
      tail = body;
    }
    // A server may answer a body over 64 KiB before reading it and reset the connection.
    if (body.length > 64 * 1024) mayGoUnanswered = true;
  }
  // Header values are latin1 on the wire.
  return { request: r, bytes: Buffer.concat([latin1(`${lines.join('\r\n')}\r\n\r\n`), tail]), halfClose, mayGoUnanswered };
}

/** Requests only a raw socket can send: broken framing, bytes no client library lets through. */
const rawOnly: fc.Arbitrary<Wire> = fc
  .constantFrom(
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Evil: a\u0000b\r\n',
    'GET /auth/sessions/current HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer a\r\n b\r\n',
    'GET /identities/\u00e9\u00ff HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    'GET /identities/%ZZ%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    'GET http://evil.example/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    'GET /healthz HTTP/1.0\r\n',
    'GET /healthz HTTP/2.0\r\nHost: 127.0.0.1\r\n',
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{"a":1}',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n{}',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    'POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\u001f\u008b\u0008\u0000',
    // Latin-1 bytes that are not UTF-8: 19 bytes of body.
    'POST /auth/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{"email":"\u00ff\u00fe@x.io"}',
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\tfolded: yes\r\n',
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n',
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n: empty-name\r\n',
    'GET  /healthz  HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    'GET /healthz HTTP/1.1\nHost: 127.0.0.1\n',
    `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n`,
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${'session=x; '.repeat(2_000)}\r\n`,
    'DELETE /auth/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: session=a.b\r\nOrigin: http://evil.example\r\n',
  )
  .map((text) => {
    const head = text.includes('\r\n\r\n') ? text : `${text}Connection: close\r\n\r\n`;
    const request: FuzzRequest = { method: text.split(' ')[0]!, target: '(raw)', headers: {}, framing: 'length', label: `raw ${JSON.stringify(text.slice(0, 60))}` };
    // Bytes Node cannot parse may be answered with a 4xx or the connection simply closed.
    return { request, bytes: latin1(head), halfClose: false, mayGoUnanswered: true };
  });

