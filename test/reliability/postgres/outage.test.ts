import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { startNodeServer, type RunningServer } from '../../helpers/server';
import { startSmtpSink } from '../../helpers/smtp';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

// A real server process reaches PostgreSQL through a TCP proxy the test cuts while requests run
// (test/outage.test.ts does the same in-process). The contract: 503 unavailable in the error
// shape (or a normal answer) within 10 s, the process stays up, and it recovers by itself.
const ANSWER_WITHIN_MS = 10_000;
const RECOVER_WITHIN_MS = 5_000;
/** Long enough for reconnect back-off to grow (postgres.js's default reached 20 s and broke both bounds). */
const OUTAGE_MS = 15_000;

let database: TestDatabase;
let proxy: TcpProxy;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url!);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const proxied = new URL(database.url!);
  proxied.host = `${proxy.host}:${proxy.port}`;
  smtp = await startSmtpSink();
  server = await startNodeServer({ DATABASE_URL: proxied.toString(), AUTH_SECRET: 'e'.repeat(64), SMTP_URL: smtp.url, TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await server?.stop();
  await proxy?.close();
  await smtp?.close();
  await database?.close();
});

interface Answer {
  request: string;
  status: number;
  body: any;
  ms: number;
  startedAt: number;
}

let clients = 0;
async function call(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const startedAt = performance.now();
  const headers: Record<string, string> = { 'x-forwarded-for': `192.0.2.${++clients % 250}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${server.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text; the assertions name it
  }
  return { request: `${method} ${path}`, status: res.status, body, ms: performance.now() - startedAt, startedAt };
}

describe('PostgreSQL cut off under load', () => {
  it('answers 503 unavailable within 10 s while it is cut, stays up, and recovers within 5 s of its return', async () => {
    const email = uniqueEmail('outage');
    expect((await call('POST', '/auth/verify', { body: { email } })).status).toBe(202);
    const code = (await smtp.waitFor(email)).text.match(/\b(\d{6})\b/)![1];
    const signIn = await call('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
    expect(signIn.status).toBe(201);
    const token: string = signIn.body.token;

    // Four clients loop over a read, a write and a readiness check until told to stop.
    const answers: Answer[] = [];
    const waiting: (() => void)[] = [];
    let running = true;
    const requests = [
      () => call('GET', '/auth/sessions/current', { token }),
      () => call('POST', '/auth/verify', { body: { email: uniqueEmail('outage-load') } }),
      () => call('GET', '/auth/sessions', { token }),
      () => call('GET', '/readyz'),
    ];
    const clientsDone = Promise.all(
      requests.map(async (request) => {
        while (running) {
          answers.push(await request());
          waiting.splice(0).forEach((wake) => wake());
        }
      }),
    );
    const answersSince = (t: number) => answers.filter((a) => a.startedAt >= t);
    /** Resolves once `condition` holds, looked at after every answer. */
    const until = async (condition: () => boolean) => {
      while (!condition()) await new Promise<void>((wake) => waiting.push(wake));
    };

    try {
      await until(() => answers.length >= 20);
      const cutAt = performance.now();
      await proxy.cut();
      // Cut for a while, and until every client has seen the outage a few times.
      await until(() => performance.now() - cutAt >= OUTAGE_MS && answersSince(cutAt).filter((a) => a.status === 503).length >= 20);
      const duringCut = answersSince(cutAt);

      const restoredAt = performance.now();
      await proxy.restore();
      await until(() => answersSince(restoredAt).some((a) => a.status === 200 && a.body?.session));
      const firstSuccess = answersSince(restoredAt).find((a) => a.status === 200 && a.body?.session)!;
      const recoveryMs = firstSuccess.startedAt + firstSuccess.ms - restoredAt;
      // Then a stretch where everything works again.
      const settledAt = performance.now();
      await until(() => answersSince(settledAt).length >= 20);
      running = false;
      await clientsDone;

      for (const answer of duringCut) {
        const seen = `${answer.request} → ${answer.status} after ${answer.ms.toFixed(0)} ms, ${(answer.startedAt - cutAt).toFixed(0)} ms into the cut`;
        if (answer.status !== 503) expect([200, 202], seen).toContain(answer.status);
        else expect(answer.body, seen).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
        expect(answer.ms, seen).toBeLessThan(ANSWER_WITHIN_MS);
      }
      expect(recoveryMs).toBeLessThan(RECOVER_WITHIN_MS);
      for (const answer of answersSince(settledAt)) expect([200, 202]).toContain(answer.status);
      expect(server.process.exitCode).toBeNull();
      expect(server.output()).not.toMatch(/"unhandled error"/);

      const slowest = Math.max(...duringCut.map((a) => a.ms));
      console.log(
        `outage: ${duringCut.length} requests during a ${((restoredAt - cutAt) / 1000).toFixed(1)} s cut of PostgreSQL (${duringCut.filter((a) => a.status === 503).length} × 503, slowest ${slowest.toFixed(0)} ms); ` +
          `recovered ${recoveryMs.toFixed(0)} ms after it returned, without a restart`,
      );
    } finally {
      running = false;
      await proxy.restore();
      await clientsDone;
    }
  });
});
