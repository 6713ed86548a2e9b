import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, driver, type TestDatabase } from './helpers/db';
import { freePort } from './helpers/free-port';
import { startNodeServer } from './helpers/server';

// SIGTERM/SIGINT: stop accepting, let requests in flight finish, close the database, exit 0.
const root = fileURLToPath(new URL('..', import.meta.url));
let database: TestDatabase | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'auth-shutdown-'));
  if (driver === 'postgres') database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const databaseEnv = (sub: string): Record<string, string> =>
  database ? { DATABASE_URL: database.url!, AUTH_SECRET: 'c'.repeat(64), MAIL: 'log' } : { DATA_DIR: join(dataDir, sub) };

/** Resolves true when a TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The pids whose parent is `pid` (Linux's /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('shutdown', () => {
  it('on SIGTERM finishes a request in flight, refuses new connections, then exits 0 with one line', async () => {
    const server = await startNodeServer(databaseEnv('term'));
    try {
      const port = Number(new URL(server.url).port);
      const body = JSON.stringify({ email: 'slow-client@example.com' });
      // A slow request: the body is sent only after the signal. `Expect: 100-continue` makes the
      // server say when it has parsed the headers, so the request is known to be in flight.
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/auth/verify',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
      });
      await new Promise<void>((resolve) => req.once('continue', resolve));
      const exited = new Promise<number | null>((resolve) => server.process.once('exit', resolve));
      server.process.kill('SIGTERM');
      await waitUntil(() => refused(port), 10_000, 'the server to stop accepting');
      req.end(body);

      const res = await answer;
      expect(res.status).toBe(202);
      expect(JSON.parse(res.text)).toEqual({ expiresAt: expect.any(String) });
      expect(await exited).toBe(0);
      const lines = server.output().split('\n').filter((l) => l.includes('"msg":"stopped"'));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', signal: 'SIGTERM', cutConnections: 0 });
    } finally {
      await server.stop();
    }
  });

  it('SIGTERM sent to the `npm start` process reaches the server', async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: String(port), ...databaseEnv('npm') },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that whatever happens nothing it started outlives the test.
      detached: true,
    });
    let output = '';
    npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
    try {
      await waitUntil(() => output.includes('"msg":"listening"') || npm.exitCode !== null, 90_000, `npm start to listen:\n${output}`);
      expect(npm.exitCode).toBeNull();
      // The server npm started runs with the start script's memory settings (see docs/decisions.md).
      const server = childrenOf(npm.pid!).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-server.mjs'));
      expect(server).toBeDefined();
      expect(readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=20']));
      expect(readFileSync(`/proc/${server}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');
      npm.kill('SIGTERM');
      await exited;
      await waitUntil(() => output.includes('"msg":"stopped"'), 15_000, `the server to log its stop:\n${output}`);
      expect(await refused(port)).toBe(true);
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    }
  });
});
