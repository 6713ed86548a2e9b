/**
 * `npm run dev:worker`: the worker under `wrangler dev --local` on http://localhost:8787, offline,
 * with nothing to set up beyond PostgreSQL on 127.0.0.1:5432. Before starting wrangler it
 *  1. copies .dev.vars.example to .dev.vars (wrangler's local secrets) when there is none,
 *  2. creates the local database named in wrangler.toml's `localConnectionString` (or in
 *     CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE) when it does not exist,
 *  3. applies the migrations to it (`npm run db:migrate` does the same for any DATABASE_URL).
 * Extra arguments go to `wrangler dev`, e.g. `npm run dev:worker -- --port 9000`.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { migratePostgres } from '../src/db/migrate';

const root = join(import.meta.dirname, '..');

if (!existsSync(join(root, '.dev.vars'))) {
  copyFileSync(join(root, '.dev.vars.example'), join(root, '.dev.vars'));
  console.log('created .dev.vars from .dev.vars.example (development AUTH_SECRET)');
}

const url =
  process.env.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE ||
  /^\s*localConnectionString\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, 'wrangler.toml'), 'utf8'))?.[1];
if (!url) throw new Error('wrangler.toml has no [[hyperdrive]] localConnectionString');
const shown = url.replace(/:[^:@/]*@/, ':***@');

async function ensureDatabase(): Promise<void> {
  const probe = postgres(url!, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await probe`select 1`;
    return;
  } catch (error) {
    // 3D000: the server answers but the database does not exist yet.
    if ((error as { code?: string }).code !== '3D000') {
      throw new Error(`cannot reach PostgreSQL at ${shown}: ${(error as Error).message}`);
    }
  } finally {
    await probe.end({ timeout: 1 });
  }
  const name = new URL(url!).pathname.slice(1);
  const maintenance = new URL(url!);
  maintenance.pathname = '/postgres';
  const admin = postgres(maintenance.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    console.log(`created database ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}

try {
  await ensureDatabase();
  await migratePostgres(url);
  console.log(`migrated ${shown}`);
} catch (error) {
  console.error(`dev:worker: ${(error as Error).message}`);
  console.error('Start PostgreSQL on 127.0.0.1:5432 or point CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE at one.');
  process.exit(1);
}

const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const extra = process.argv.slice(2);
const port = portArgument(extra) ?? '8787';
// wrangler.toml's ISSUER and ORIGIN name port 8787; on another port they follow it (unless given
// in the environment), so tokens, CORS and WebAuthn match the address the worker answers on.
const local = `http://localhost:${port}`;
const followed = { ISSUER: process.env.ISSUER || local, ORIGIN: process.env.ORIGIN || local };
const vars = Object.entries(followed).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
const args = ['dev', '--local', ...(portArgument(extra) ? [] : ['--port', port]), ...vars, ...extra];
const child = spawn(process.execPath, [wrangler, ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
});
console.log(`dev:worker: ISSUER=${followed.ISSUER} ORIGIN=${followed.ORIGIN}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

/** The port given as `--port N` or `--port=N`, if any. */
function portArgument(args: string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === '--port') return args[i + 1];
    if (arg.startsWith('--port=')) return arg.slice('--port='.length);
  }
  return undefined;
}
