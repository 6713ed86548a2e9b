import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { Database } from '../../src/db/database';
import { pgliteDatabase } from '../../src/db/pglite';
import { openPostgres } from '../../src/db/postgres';
import { databaseUrl } from './postgres-url';

export interface TestDatabase {
  db: Database;
  driver: 'pglite' | 'postgres';
  /** postgres:// URL of this copy (PostgreSQL runs only), for tests that start a real server. */
  url?: string;
  /** The embedded database itself (PGlite runs only), for tests that listen to it. */
  client?: PGlite;
  close(): Promise<void>;
}

export const driver = (process.env.TEST_DRIVER ?? 'pglite') as TestDatabase['driver'];

/** A freshly migrated database of its own for one test file: a PGlite copy, or a PostgreSQL database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (driver === 'postgres') {
    const template = inject('postgresTemplate');
    const name = `${template.replace(/_template$/, '')}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    const url = databaseUrl(name);
    const { db, close } = openPostgres(url);
    return {
      db,
      driver,
      url,
      async close() {
        await close();
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const client = await PGlite.create({ loadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]) });
  return { db: pgliteDatabase(client), driver, client, close: () => client.close() };
}
