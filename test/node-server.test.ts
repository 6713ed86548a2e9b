import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, ORIGIN } from './helpers/app';
import { createTestDatabase, driver, type TestDatabase } from './helpers/db';
import { runNodeServerToExit, startNodeServer, type RunningServer } from './helpers/server';
import { startSmtpSink } from './helpers/smtp';

// The real server process, as `npm start` runs it: on PGlite in a temporary DATA_DIR, or on the
// run's PostgreSQL database when the suite runs against PostgreSQL.
let database: TestDatabase | undefined;
let dataDir: string;
const secret = 'b'.repeat(64);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'auth-node-'));
  if (driver === 'postgres') database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function databaseEnv(sub: string): Record<string, string> {
  return database ? { DATABASE_URL: database.url!, AUTH_SECRET: secret, MAIL: 'log' } : { DATA_DIR: join(dataDir, sub) };
}

async function post(server: RunningServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** The code the server printed for `email` (MAIL=log), once its log line is out; undefined after 5 s. */
async function codeFromLog(server: RunningServer, email: string): Promise<string | undefined> {
  const line = new RegExp(`"to":"${email.replace(/[.]/g, '\\.')}".*?sign-in code: (\\d{6})`);
  for (let i = 0; i < 50; i++) {
    const code = server.output().match(line)?.[1];
    if (code) return code;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Sends `text` as is on a fresh connection and returns everything the server answers. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('the Node server', () => {
  it('mails the code through SMTP_URL and signs in with it', async () => {
    const smtp = await startSmtpSink();
    const server = await startNodeServer({ ...databaseEnv('smtp'), SMTP_URL: smtp.url, MAIL: 'smtp', MAIL_FROM: 'login@example.test' });
    try {
      const email = 'smtp-user@example.com';
      const verify = await post(server, '/auth/verify', { email });
      expect(verify.status).toBe(202);
      const mail = await smtp.waitFor(email);
      expect(mail.from).toBe('login@example.test');
      const code = mail.text.match(/\b(\d{6})\b/)?.[1];
      expect(code).toMatch(/^\d{6}$/);

      const signIn = await post(server, '/auth/sessions', { method: 'otp', email, token: code });
      expect(signIn.status).toBe(201);
      expect(signIn.body.user.email).toBe(email);
      expect(signIn.body.session.ipAddress).toBe('127.0.0.1');

      const current = await fetch(`${server.url}/auth/sessions/current`, { headers: { authorization: `Bearer ${signIn.body.token}` } });
      expect(current.status).toBe(200);
      expect((await current.json()).user.email).toBe(email);
      // With SMTP configured, the code goes to the mail server and never to the log.
      expect(server.output()).not.toContain(code!);
    } finally {
      expect(await server.stop()).toBe(0);
      await smtp.close();
    }
  });

  it('answers with the headers the app writes in process, the fixed ones written by the listener', async () => {
    const server = await startNodeServer({ ...databaseEnv('headers'), ORIGIN, ISSUER: ORIGIN });
    const t = await createTestContext();
    try {
      const requests: Array<[string, string, Record<string, string>]> = [
        ['GET', '/healthz', {}],
        ['GET', '/healthz', { origin: ORIGIN }],
        ['GET', '/auth/sessions/current', {}],
        ['POST', '/auth/verify', { 'content-type': 'application/json' }],
        ['GET', '/no/such/route', {}],
        ['GET', '/', {}],
        ['OPTIONS', '/auth/sessions', { origin: ORIGIN, 'access-control-request-method': 'POST' }],
      ];
      const shape = (headers: Headers) =>
        Object.fromEntries([...headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'x-request-id', 'content-length'].includes(name)));
      for (const [method, path, headers] of requests) {
        const inProcess = await t.app.request(path, { method, headers });
        const overHttp = await fetch(`${server.url}${path}`, { method, headers });
        expect(overHttp.status, `${method} ${path}`).toBe(inProcess.status);
        expect(shape(overHttp.headers), `${method} ${path}`).toEqual(shape(inProcess.headers));
      }
    } finally {
      await t.close();
      expect(await server.stop()).toBe(0);
    }
  });

  it('answers warm session checks and websocket tokens (from the listener, before the app) with the headers and bodies the app gives', async () => {
    const server = await startNodeServer({ ...databaseEnv('warm'), ORIGIN, ISSUER: ORIGIN, MAIL: 'log' });
    const t = await createTestContext();
    try {
      const email = 'warm-user@example.com';
      expect((await post(server, '/auth/verify', { email })).status).toBe(202);
      const code = await codeFromLog(server, email);
      const signIn = await post(server, '/auth/sessions', { method: 'otp', email, token: code });
      expect(signIn.status).toBe(201);
      const local = await t.signIn(email);
      const shape = (headers: Headers) =>
        Object.fromEntries([...headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'x-request-id', 'content-length'].includes(name)));
      const inProcess = await t.app.request('/auth/sessions/current', { headers: { authorization: `Bearer ${local.token}` } });
      // The first check reads the session into the cache; the next ones are answered from it.
      for (let i = 0; i < 3; i++) {
        const overHttp = await fetch(`${server.url}/auth/sessions/current`, { headers: { authorization: `Bearer ${signIn.body.token}`, 'x-request-id': `warm-${i}` } });
        expect(overHttp.status).toBe(200);
        expect(shape(overHttp.headers)).toEqual(shape(inProcess.headers));
        expect(overHttp.headers.get('x-request-id')).toBe(`warm-${i}`);
        const body = await overHttp.json();
        expect(body).toEqual({ session: { ...signIn.body.session, lastActiveAt: body.session.lastActiveAt }, user: signIn.body.user });
      }
      // Each answered check has its log line, from whichever path answered it.
      for (let i = 0; i < 50 && !server.output().includes('"requestId":"warm-2"'); i++) await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 3; i++) expect(server.output()).toMatch(new RegExp(`"requestId":"warm-${i}","method":"GET","path":"/auth/sessions/current","status":200`));

      // The session is warm: its websocket tokens are minted by the listener, and verify with the server's published keys.
      const inProcessToken = await t.app.request('/v1/identity/websocket-token', { method: 'POST', headers: { authorization: `Bearer ${local.token}` } });
      const keys = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
      for (let i = 0; i < 3; i++) {
        const overHttp = await fetch(`${server.url}/v1/identity/websocket-token`, { method: 'POST', headers: { authorization: `Bearer ${signIn.body.token}`, 'x-request-id': `mint-${i}` } });
        expect(overHttp.status).toBe(200);
        expect(shape(overHttp.headers)).toEqual(shape(inProcessToken.headers));
        const { token } = (await overHttp.json()) as { token: string };
        const { payload } = await jwtVerify(token, keys, { issuer: ORIGIN, audience: 'spacetimedb' });
        expect(payload).toMatchObject({ sub: signIn.body.user.id, hex_identity: signIn.body.user.identity, token_use: 'websocket' });
        expect(payload.exp! - payload.iat!).toBe(60);
      }
      for (let i = 0; i < 50 && !server.output().includes('"requestId":"mint-2"'); i++) await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 3; i++) expect(server.output()).toMatch(new RegExp(`"requestId":"mint-${i}","method":"POST","path":"/v1/identity/websocket-token","status":200`));
    } finally {
      await t.close();
      expect(await server.stop()).toBe(0);
    }
  });

  it('without SMTP_URL prints the code to the log, and the code signs in', async () => {
    const server = await startNodeServer(databaseEnv('log'));
    try {
      const email = 'log-user@example.com';
      expect((await post(server, '/auth/verify', { email })).status).toBe(202);
      const code = await codeFromLog(server, email);
      expect(code).toMatch(/^\d{6}$/);
      const signIn = await post(server, '/auth/sessions', { method: 'otp', email, token: code });
      expect(signIn.status).toBe(201);
      expect(signIn.headers.get('set-cookie')).toMatch(/^session=.*HttpOnly/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('answers requests it cannot parse with a 400 in the error shape, and shrugs off clients that hang up', async () => {
    const server = await startNodeServer(databaseEnv('raw'));
    try {
      const { port } = new URL(server.url);
      for (const head of ['GET /healthz HTTP/1.1\r\nHost: bad host\r\n', 'GET /a\\b HTTP/1.1\r\nHost: localhost\r\n']) {
        const answer = await rawRequest(Number(port), `${head}Connection: close\r\n\r\n`);
        expect(answer).toMatch(/^HTTP\/1\.1 400 /);
        expect(answer.toLowerCase()).toContain('x-content-type-options: nosniff');
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
          error: { code: 'invalid_request', message: expect.stringMatching(/^Malformed request/) },
        });
      }

      // Requests Node's own HTTP parser refuses: an unknown method, no Host, both lengths, huge headers.
      const refused: [string, RegExp][] = [
        ['FOO /auth/sessions HTTP/1.1\r\nHost: localhost\r\n', /^HTTP\/1\.1 400 /],
        ['GET /auth/sessions HTTP/1.1\r\n', /^HTTP\/1\.1 400 /],
        ['POST /auth/verify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n', /^HTTP\/1\.1 400 /],
        [`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'x'.repeat(20_000)}\r\n`, /^HTTP\/1\.1 431 /],
      ];
      for (const [head, status] of refused) {
        const answer = await rawRequest(Number(port), `${head}Connection: close\r\n\r\n`);
        expect(answer, head.slice(0, 40)).toMatch(status);
        expect(answer.toLowerCase()).toContain('referrer-policy: no-referrer');
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('invalid_request');
      }

      // Half a body, then the client is gone.
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('POST /auth/verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":');
      await new Promise((r) => setTimeout(r, 100));
      socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect(server.output()).not.toMatch(/database unavailable|unhandled error/);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it.runIf(driver === 'pglite')('refuses a second server on the same DATA_DIR, or on a taken port, with one line, and the first keeps serving', async () => {
    const dir = join(dataDir, 'shared');
    const first = await startNodeServer({ DATA_DIR: dir });
    try {
      const second = await runNodeServerToExit({ DATA_DIR: dir, PORT: '0' });
      expect(second.code).toBe(1);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stderr).toMatch(/^configuration error: DATA_DIR: .* in use by another server \(pid \d+\)/);

      const port = new URL(first.url).port;
      const taken = await runNodeServerToExit({ DATA_DIR: join(dataDir, 'other'), PORT: port, HOST: '127.0.0.1' });
      expect(taken.code).toBe(1);
      expect(taken.stderr.trim().split('\n')).toHaveLength(1);
      expect(taken.stderr).toMatch(new RegExp(`^configuration error: PORT: ${port} is already in use`));

      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    // A lock left by a process that is gone does not stop the next start.
    expect(existsSync(join(dir, 'server.pid'))).toBe(false);
    writeFileSync(join(dir, 'server.pid'), '2147483646\n');
    const third = await startNodeServer({ DATA_DIR: dir });
    expect((await fetch(`${third.url}/readyz`)).status).toBe(200);
    expect(await third.stop()).toBe(0);
  });

  it.runIf(driver === 'pglite')('keeps the embedded database and a generated AUTH_SECRET in DATA_DIR across restarts', async () => {
    const dir = join(dataDir, 'restart');
    const first = await startNodeServer({ DATA_DIR: dir });
    const email = 'restart@example.com';
    await post(first, '/auth/verify', { email });
    await new Promise((r) => setTimeout(r, 200));
    const code = first.output().match(/sign-in code: (\d{6})/)?.[1];
    const signIn = await post(first, '/auth/sessions', { method: 'otp', email, token: code });
    expect(signIn.status).toBe(201);
    await first.stop();
    expect(statSync(join(dir, 'auth-secret')).mode & 0o777).toBe(0o600);

    const second = await startNodeServer({ DATA_DIR: dir });
    try {
      const current = await fetch(`${second.url}/auth/sessions/current`, { headers: { authorization: `Bearer ${signIn.body.token}` } });
      expect(current.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
