/**
 * `npm run bench`: how fast is a session check compared with a request that does no work?
 *
 * Starts the app in this process on Node with an embedded database (PGlite) in a temporary
 * folder and RATE_LIMIT=off, signs in once, then loads `GET /healthz` and
 * `GET /auth/sessions/current` (bearer token) in turns with autocannon. The ratio of the two,
 * measured in the same run on the same machine, is the figure to compare; absolute numbers
 * depend on the machine.
 *
 * BENCH_DURATION (seconds per round, default 10), BENCH_CONNECTIONS (default 10),
 * BENCH_ROUNDS (default 2) tune it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import autocannon, { type Result } from 'autocannon';
import { createApp } from '../src/app';
import { parseConfig } from '../src/config';
import { migratePglite } from '../src/db/migrate';
import { openPglite } from '../src/db/pglite';
import type { Deps } from '../src/deps';
import { systemClock } from '../src/ports/clock';
import { silentLogger } from '../src/ports/logger';
import { createOutboxMailer } from '../src/ports/mailer';
import { cryptoRandom } from '../src/ports/random';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);

const dataDir = mkdtempSync(join(tmpdir(), 'auth-bench-'));
const config = parseConfig({ RATE_LIMIT: 'off', DATA_DIR: dataDir, AUTH_SECRET: Buffer.from(cryptoRandom.bytes(32)).toString('hex') });
const database = await openPglite(join(dataDir, 'pglite'));
await migratePglite(database.client);
const mailer = createOutboxMailer();
const deps: Deps = {
  config: { ...config, authSecret: config.authSecret! },
  db: database.db,
  mailer,
  clock: systemClock,
  random: cryptoRandom,
  // Request logs would measure the terminal, not the server.
  log: silentLogger,
  background: (task) => void task.catch((error: unknown) => console.error('background task failed', error)),
};
const app = createApp(deps, { clientIp: () => '127.0.0.1' });
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const address = server.address();
if (!address || typeof address === 'string') throw new Error('no port');
const base = `http://127.0.0.1:${address.port}`;

async function signIn(): Promise<string> {
  const email = 'bench@example.com';
  const verify = await fetch(`${base}/auth/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  if (verify.status !== 202) throw new Error(`POST /auth/verify: ${verify.status}`);
  for (let i = 0; i < 50 && mailer.outbox.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const code = mailer.outbox.at(-1)?.text.match(/\b(\d{6})\b/)?.[1];
  if (!code) throw new Error('no code was mailed');
  const res = await fetch(`${base}/auth/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'otp', email, token: code }),
  });
  if (res.status !== 201) throw new Error(`POST /auth/sessions: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

async function load(path: string, headers: Record<string, string>, seconds: number): Promise<Result> {
  const result = await autocannon({ url: `${base}${path}`, connections, duration: seconds, headers });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${path}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
  return result;
}

try {
  const token = await signIn();
  const targets: { name: string; path: string; headers: Record<string, string> }[] = [
    { name: 'GET /healthz', path: '/healthz', headers: {} },
    { name: 'GET /auth/sessions/current', path: '/auth/sessions/current', headers: { authorization: `Bearer ${token}` } },
  ];
  console.log(`node ${process.version}, ${connections} connections, ${rounds} × ${duration} s per endpoint, PGlite, RATE_LIMIT=off`);
  for (const t of targets) await load(t.path, t.headers, 2); // warm-up

  const results = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const t of targets) results.get(t.name)!.push(await load(t.path, t.headers, duration));
  }

  const summary = targets.map((t) => {
    const runs = results.get(t.name)!;
    const mean = (pick: (r: Result) => number) => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
    return {
      endpoint: t.name,
      'req/s': Math.round(mean((r) => r.requests.average)),
      'latency avg ms': +mean((r) => r.latency.average).toFixed(2),
      'p50 ms': +mean((r) => r.latency.p50).toFixed(2),
      'p99 ms': +mean((r) => r.latency.p99).toFixed(2),
    };
  });
  console.table(summary);
  const [health, session] = summary;
  console.log(
    `session check / healthz: ${(session!['req/s'] / health!['req/s']).toFixed(2)}× the throughput, ` +
      `${(session!['latency avg ms'] / health!['latency avg ms']).toFixed(2)}× the average latency`,
  );
} finally {
  server.close();
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
}
