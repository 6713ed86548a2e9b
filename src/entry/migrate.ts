import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migratePglite, migratePostgres } from '../db/migrate';
import { openPglite } from '../db/pglite';

/** `npm run db:migrate`: applies migrations to DATABASE_URL, or to the embedded database in DATA_DIR. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (url) {
    await migratePostgres(url);
    console.log('migrated PostgreSQL');
    return;
  }
  const dir = join(process.env.DATA_DIR || './data', 'pglite');
  mkdirSync(dir, { recursive: true });
  const { client, close } = await openPglite(dir);
  await migratePglite(client);
  await close();
  console.log(`migrated ${dir}`);
}

/** One line a person can act on, for the failures a new user meets. */
function explain(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const shown = (process.env.DATABASE_URL ?? '').replace(/:[^:@/]*@/, ':***@');
  if (code === '3D000') return `${message}: create it first (createdb), or point DATABASE_URL at an existing database`;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'CONNECT_TIMEOUT') {
    return `cannot reach PostgreSQL at ${shown} (${code}): is it running, and is DATABASE_URL right?`;
  }
  if (code === '28P01' || code === '28000') return `PostgreSQL refused the credentials in DATABASE_URL: ${message}`;
  return message ?? String(error);
}

try {
  await main();
} catch (error) {
  console.error(`db:migrate: ${explain(error)}`);
  process.exit(1);
}
