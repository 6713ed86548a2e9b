import { generateKeyPairSync } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { readAnswer } from '../../helpers/http';
import { startNodeServer, type RunningServer } from '../../helpers/server';
import { startSmtpSink } from '../../helpers/smtp';

/**
 * Two real server processes on one PostgreSQL database, as a deployment behind a load balancer
 * runs them: the same AUTH_SECRET and signing key, mail through one SMTP server.
 */
export interface ServerPair {
  database: TestDatabase;
  smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  a: RunningServer;
  b: RunningServer;
  stop(): Promise<void>;
}

/** `extraEnv` adds to (or overrides) the configuration both processes share. */
export async function startServerPair(extraEnv: Record<string, string> = {}): Promise<ServerPair> {
  const database = await createTestDatabase();
  const smtp = await startSmtpSink();
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const env = {
    DATABASE_URL: database.url!,
    AUTH_SECRET: 'd'.repeat(64),
    JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    SMTP_URL: smtp.url,
    // Each request says which client it is for, so that per-IP limits never decide an outcome.
    TRUST_PROXY: 'on',
    ...extraEnv,
  };
  // One after the other: each start migrates the database.
  const a = await startNodeServer(env);
  const b = await startNodeServer(env);
  return {
    database,
    smtp,
    a,
    b,
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      await smtp.close();
      await database.close();
    },
  };
}

let clients = 0;
/** A JSON request to one of the servers, from a client address of its own. */
export async function call(server: RunningServer, method: string, path: string, options: { body?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = { 'x-forwarded-for': `192.0.2.${++clients % 250}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return readAnswer(await fetch(`${server.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }));
}
