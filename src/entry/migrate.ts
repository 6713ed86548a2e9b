import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migratePglite, migratePostgres } from '../db/migrate';
import { openPglite } from '../db/pglite';

/** `npm run db:migrate`: applies migrations to DATABASE_URL, or to the embedded database in DATA_DIR. */
const url = process.env.DATABASE_URL;
if (url) {
  await migratePostgres(url);
  console.log('migrated PostgreSQL');
} else {
  const dir = join(process.env.DATA_DIR || './data', 'pglite');
  mkdirSync(dir, { recursive: true });
  const { client, close } = await openPglite(dir);
  await migratePglite(client);
  await close();
  console.log(`migrated ${dir}`);
}
