import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { Database } from './database';
import * as schema from './schema';

/** Wraps an open PGlite instance (embedded PostgreSQL) in the shared `Database` type. */
export function pgliteDatabase(client: PGlite): Database {
  return drizzle(client, { schema }) as unknown as Database;
}

/** Opens (creating when missing) the embedded database in `dir`, or in memory without one. */
export async function openPglite(dir?: string): Promise<{ db: Database; client: PGlite; close(): Promise<void> }> {
  const client = await PGlite.create(dir);
  return { db: pgliteDatabase(client), client, close: () => client.close() };
}
