import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../src/db/postgres';
import { createTestContext } from './helpers/app';
import { createTestDatabase, driver } from './helpers/db';
import { freePort } from './helpers/server';

/**
 * A relay in front of PostgreSQL that counts the frontend messages by type (`P` Parse, `B` Bind,
 * `Q` simple Query …). A connection opens with an untyped startup message (and maybe an SSL
 * request); every message after it is a type byte and a 4-byte length that counts itself.
 */
async function startCountingRelay(target: URL) {
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const port = await freePort();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    let buffered = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (!started) {
          if (buffered.length < 8) break;
          const length = buffered.readInt32BE(0);
          if (buffered.length < length) break;
          // 80877103 is the SSL request; the startup message that follows is untyped too.
          started = buffered.readInt32BE(4) !== 80877103;
          buffered = buffered.subarray(length);
          continue;
        }
        if (buffered.length < 5) break;
        const length = buffered.readInt32BE(1) + 1;
        if (buffered.length < length) break;
        const type = String.fromCharCode(buffered[0]!);
        counts.set(type, (counts.get(type) ?? 0) + 1);
        buffered = buffered.subarray(length);
      }
    });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    count: (type: string) => counts.get(type) ?? 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('prepared statements on PostgreSQL', () => {
  for (const prepare of [true, false]) {
    it.runIf(driver === 'postgres')(`${prepare ? 'parses a repeated statement once per connection' : 'parses every statement when off'}`, async () => {
      const database = await createTestDatabase();
      const relay = await startCountingRelay(new URL(database.url!));
      const { db, close } = openPostgres(relay.url, { max: 1, prepare });
      const t = await createTestContext({}, { database: { ...database, db } });
      try {
        // Sign-ins and a first session check prepare their statements; the repeated checks re-use them.
        const first = await t.signIn();
        await t.signIn(first.email);
        expect((await t.request('GET', '/auth/sessions/current', { token: first.token })).status).toBe(200);
        const parsesBefore = relay.count('P');
        const bindsBefore = relay.count('B');
        for (let i = 0; i < 5; i++) {
          const res = await t.request('GET', '/auth/sessions/current', { token: first.token });
          expect(res.status).toBe(200);
          expect(res.body.user.email).toBe(first.email);
        }
        expect(relay.count('B') - bindsBefore).toBe(5);
        expect(relay.count('P') - parsesBefore).toBe(prepare ? 0 : 5);
      } finally {
        await close();
        await t.close();
        await relay.close();
      }
    });
  }

  it.runIf(driver === 'postgres')('prepares the statements run inside a transaction too', async () => {
    const database = await createTestDatabase();
    const relay = await startCountingRelay(new URL(database.url!));
    const { db, close } = openPostgres(relay.url, { max: 1, prepare: true });
    const t = await createTestContext({}, { database: { ...database, db } });
    try {
      // The first sign-in creates the account, the second finds it: the third runs the second's
      // statements, in the same transactions, and none of them is parsed again.
      const { email } = await t.signIn();
      await t.signIn(email);
      const code = await t.requestCode(email);
      const parsesBefore = relay.count('P');
      const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
      expect(res.status).toBe(201);
      expect(relay.count('P') - parsesBefore).toBe(0);
    } finally {
      await close();
      await t.close();
      await relay.close();
    }
  });
});
