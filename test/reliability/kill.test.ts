import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail } from '../helpers/app';
import { createTestDatabase, driver, type TestDatabase } from '../helpers/db';
import { startNodeServer, type RunningServer } from '../helpers/server';
import { startSmtpSink } from '../helpers/smtp';

// `kill -9` of the server while sign-ins are in flight, then a restart on the same database
// (the embedded PGlite in DATA_DIR, or PostgreSQL): a client that received its 201 holds a
// session that works.
const SIGN_INS = 40;
const KILL_AFTER = 10;

let database: TestDatabase | undefined;
let dataDir: string;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'auth-kill-'));
  smtp = await startSmtpSink();
  if (driver === 'postgres') database = await createTestDatabase();
});
afterAll(async () => {
  await smtp?.close();
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({
  ...(database ? { DATABASE_URL: database.url!, AUTH_SECRET: 'f'.repeat(64) } : { DATA_DIR: join(dataDir, 'data') }),
  SMTP_URL: smtp.url,
  TRUST_PROXY: 'on',
});

let clients = 0;
function post(server: RunningServer, path: string, body: unknown) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${++clients % 250}` },
    body: JSON.stringify(body),
  });
}

describe('kill -9 during sign-ins', () => {
  it(`keeps every session whose 201 was received, across a restart on the same ${driver} database`, async () => {
    const first = await startNodeServer(env());
    const emails = Array.from({ length: SIGN_INS }, () => uniqueEmail('kill'));
    for (const email of emails) expect((await post(first, '/auth/verify', { email })).status).toBe(202);
    const codes = await Promise.all(emails.map(async (email) => (await smtp.waitFor(email)).text.match(/\b(\d{6})\b/)![1]!));

    // All sign-ins at once; the process is killed as soon as the first few have answered.
    const tokens: string[] = [];
    let failed = 0;
    let killing: Promise<void> | undefined;
    await Promise.all(
      emails.map(async (email, i) => {
        try {
          const res = await post(first, '/auth/sessions', { method: 'otp', email, token: codes[i] });
          if (res.status !== 201) throw new Error(`sign-in answered ${res.status}`);
          tokens.push((await res.json()).token);
          if (tokens.length === KILL_AFTER) killing = first.kill();
        } catch {
          failed++; // cut off by the kill: no answer, so no promise was made
        }
      }),
    );
    await killing;
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(tokens.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const second = await startNodeServer(env());
    try {
      const answers = await Promise.all(
        tokens.map(async (token) => (await fetch(`${second.url}/auth/sessions/current`, { headers: { authorization: `Bearer ${token}` } })).status),
      );
      expect(answers).toEqual(tokens.map(() => 200));
      console.log(`kill -9 (${driver}): ${tokens.length} of ${SIGN_INS} sign-ins had answered 201 (${failed} cut off); all ${tokens.length} sessions work after the restart`);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
