import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app';
import { parseConfig } from '../../src/config';
import type { Deps } from '../../src/deps';
import type { SessionCache } from '../../src/ports/session-cache';
import type { Hasher } from '../../src/ports/hasher';
import type { Signer } from '../../src/ports/signer';
import { silentLogger } from '../../src/ports/logger';
import { createOutboxMailer } from '../../src/ports/mailer';
import { cryptoRandom } from '../../src/ports/random';
import { TestClock } from './clock';
import { createTestDatabase, type TestDatabase } from './db';
import { sendRequest, type RequestOptions, type TestResponse } from './http';

export const ORIGIN = 'http://localhost:3000';

export type { RequestOptions, TestResponse } from './http';

export type TestContext = Awaited<ReturnType<typeof createTestContext>>;

let counter = 0;
/** An email no other test in the file uses. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;
}

/**
 * The app over a database of its own, an outbox mailer and a clock the test moves.
 * `env` takes configuration variables as the server would read them; `sessionCache` puts a
 * session cache in front of session checks, as the Node server does (none by default).
 */
export async function createTestContext(env: Record<string, string> = {}, options: { database?: TestDatabase; sessionCache?: SessionCache; hasher?: Hasher; signer?: Signer } = {}) {
  const database: TestDatabase = options.database ?? (await createTestDatabase());
  const clock = new TestClock();
  const mailer = createOutboxMailer();
  // Mail goes to the outbox above whatever MAIL says; MAIL=log only lets https-ISSUER tests start.
  const config = parseConfig({ AUTH_SECRET: 'a'.repeat(64), ORIGIN, MAIL: 'log', ...env });
  const pending: Promise<unknown>[] = [];
  const deps: Deps = {
    config: { ...config, authSecret: config.authSecret! },
    db: database.db,
    mailer,
    clock,
    random: cryptoRandom,
    ...(options.hasher && { hasher: options.hasher }),
    ...(options.signer && { signer: options.signer }),
    log: silentLogger,
    background: (task) => void pending.push(task),
    ...(options.sessionCache ? { sessionCache: options.sessionCache } : {}),
  };
  // Tests choose the client address with X-Forwarded-For; the real entries take it from the socket or Cloudflare.
  const app = createApp(deps, { clientIp: (c) => c.req.header('x-forwarded-for') ?? '127.0.0.1' });

  const request = <T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>> =>
    sendRequest<T>((url, init) => app.request(url, init), method, path, options);

  /** The code in the newest mail to `email`. */
  function lastCode(email: string): string {
    const mail = [...mailer.outbox].reverse().find((m) => m.to === email);
    const code = mail?.text.match(/\b(\d{6})\b/)?.[1];
    if (!code) throw new Error(`no code mailed to ${email}`);
    return code;
  }

  async function requestCode(email: string, headers?: Record<string, string>): Promise<string> {
    const res = await request('POST', '/auth/verify', { body: { email }, headers });
    if (res.status !== 202) throw new Error(`POST /auth/verify answered ${res.status}: ${JSON.stringify(res.body)}`);
    return lastCode(email);
  }

  /** Signs in with an emailed code; returns the 201 body and the Set-Cookie header. */
  async function signIn(email: string = uniqueEmail()) {
    const code = await requestCode(email);
    const res = await request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
    if (res.status !== 201) throw new Error(`sign-in answered ${res.status}: ${JSON.stringify(res.body)}`);
    return { ...(res.body as { token: string; session: any; user: any }), email, setCookie: res.headers.get('set-cookie') };
  }

  return {
    app,
    deps,
    db: database.db,
    database,
    clock,
    mailer,
    request,
    lastCode,
    requestCode,
    signIn,
    async close() {
      await Promise.allSettled(pending);
      await database.close();
    },
  };
}
