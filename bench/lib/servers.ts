import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/free-port';
import { root, startServer, type Server } from './processes';

export const peerDir = join(root, 'bench', 'peer');

/** The three servers the bench measures, each as its own process. */

export interface ThisServerOptions {
  /** PostgreSQL; without it the embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  smtpUrl?: string;
  /** Extra node flags (`--cpu-prof …`). */
  nodeFlags?: string[];
  log?: string;
}

/**
 * `npm start`'s environment and node arguments, read from package.json: its variables, its V8
 * flags, then the script (`[NAME=value …] exec node <flags> scripts/start-server.mjs`).
 */
export function npmStartArgs(): { env: Record<string, string>; flags: string[]; script: string } {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  const match = /^((?:\w+=\S+ )*)exec node (.+)$/.exec(start);
  if (!match) throw new Error(`package.json: the start script is not "[NAME=value …] exec node …": ${start}`);
  const env = Object.fromEntries(match[1]!.trim().split(/\s+/).filter(Boolean).map((pair) => pair.split('=', 2) as [string, string]));
  const words = match[2]!.split(/\s+/);
  return { env, flags: words.slice(0, -1), script: words.at(-1)! };
}

/**
 * This server as `npm start` runs it (`scripts/start-server.mjs` with the variables and V8 flags
 * of the start script: the esbuild bundle, built when stale), with rate limits off. A profiled run
 * (`nodeFlags`) runs the sources through tsx instead, with the same V8 flags, so that the
 * profile names this project's files and packages.
 */
export async function startThisServer(options: ThisServerOptions): Promise<Server & { origin: string }> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const env: Record<string, string> = { RATE_LIMIT: 'off', ORIGIN: origin };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.dataDir) env.DATA_DIR = options.dataDir;
  // With PostgreSQL the server needs a secret; the embedded start generates its own, as it would for a user.
  if (options.databaseUrl) env.AUTH_SECRET = randomBytes(32).toString('hex');
  if (options.smtpUrl) Object.assign(env, { SMTP_URL: options.smtpUrl, MAIL: 'smtp' });
  else env.MAIL = 'log';
  const start = npmStartArgs();
  const server = await startServer({
    name: 'this',
    log: options.log,
    args: options.nodeFlags ? [...start.flags, ...options.nodeFlags, '--import', 'tsx', 'src/entry/node.ts'] : [...start.flags, start.script],
    env: { ...start.env, ...env },
    port,
    readyPath: '/healthz',
  });
  return { ...server, origin };
}

/** better-auth on Hono (bench/peer/server.mjs), installed first if it is not yet. */
export async function startPeerServer(options: { databaseUrl: string; smtpUrl?: string; log?: string }): Promise<Server & { origin: string }> {
  ensurePeerInstalled();
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: options.databaseUrl,
    BETTER_AUTH_SECRET: randomBytes(32).toString('hex'),
    BASE_URL: origin,
  };
  if (options.smtpUrl) env.SMTP_URL = options.smtpUrl;
  const server = await startServer({ name: 'better-auth', log: options.log, args: ['server.mjs'], cwd: peerDir, env, port, readyPath: '/api/auth/ok' });
  return { ...server, origin };
}

/** The ceiling: a bare Hono hello-world (bench/hello.mjs). */
export async function startHelloServer(options: { log?: string } = {}): Promise<Server> {
  const port = await freePort();
  return startServer({ name: 'hello', log: options.log, args: ['bench/hello.mjs'], env: {}, port, readyPath: '/' });
}

/** `npm ci` in bench/peer when its node_modules is missing (the first run on a machine). */
export function ensurePeerInstalled(): void {
  if (existsSync(join(peerDir, 'node_modules'))) return;
  console.log('bench/peer/node_modules is missing: installing the better-auth reference server (npm ci in bench/peer) …');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peerDir, stdio: 'inherit' });
}

/** The version a package in a node_modules folder declares. */
export function installedVersion(pkg: string, from: string = root): string {
  try {
    return (JSON.parse(readFileSync(join(from, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
