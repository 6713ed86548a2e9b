import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../src/db/postgres';
import { createTestContext } from './helpers/app';
import { createTestDatabase, driver } from './helpers/db';
import { freePort } from './helpers/free-port';

/** A TCP relay in front of PostgreSQL that the test can cut and restore, like a database restart. */
async function startRelay(target: URL, port: number) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const up = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const down = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  };
  await up();
  return { up, down };
}

describe('database outage', () => {
  it.runIf(driver === 'postgres')('answers 503 unavailable while PostgreSQL is unreachable and recovers by itself', async () => {
    const database = await createTestDatabase();
    const target = new URL(database.url!);
    const port = await freePort();
    const relay = await startRelay(target, port);
    const relayed = new URL(database.url!);
    relayed.host = `127.0.0.1:${port}`;
    const { db, close } = openPostgres(relayed.toString());
    const t = await createTestContext({}, { database: { ...database, db } });
    try {
      const { token } = await t.signIn();

      await relay.down();
      for (const [method, path, options] of [
        ['GET', '/auth/sessions/current', { token }],
        ['POST', '/auth/verify', { body: { email: 'down@example.com' } }],
        ['POST', '/auth/sessions', { body: { method: 'otp', email: 'down@example.com', token: '123456' } }],
      ] as const) {
        const res = await t.request(method, path, options);
        expect(res.status, path).toBe(503);
        expect(res.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
      }

      await relay.up();
      const back = await t.request('GET', '/auth/sessions/current', { token });
      expect(back.status).toBe(200);
      expect((await t.request('POST', '/auth/verify', { body: { email: 'up@example.com' } })).status).toBe(202);
    } finally {
      await close();
      await relay.down().catch(() => {});
      await t.close();
    }
  });

  it.runIf(driver === 'pglite')('answers 503 unavailable, not 500, when the embedded database is closed', async () => {
    const t = await createTestContext();
    const { token } = await t.signIn();
    await t.database.close();
    const res = await t.request('GET', '/auth/sessions/current', { token });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('unavailable');
  });
});
