import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { Database } from './database';
import * as schema from './schema';

/** Wraps an open PGlite instance (embedded PostgreSQL) in the shared `Database` type. */
export function pgliteDatabase(client: PGlite): Database {
  return drizzle(client, { schema }) as unknown as Database;
}

/**
 * PostgreSQL's buffer cache inside PGlite. Its default, 128 MB, is all resident in the process
 * (WebAssembly memory): about 130 MiB of RSS more than this, for databases that an embedded
 * server's accounts and sessions keep far smaller.
 */
export const PGLITE_SHARED_BUFFERS = '32MB';

/** Opens (creating when missing) the embedded database in `dir`, or in memory without one. */
export async function openPglite(dir?: string): Promise<{ db: Database; client: PGlite; close(): Promise<void> }> {
  const client = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`] });
  return { db: pgliteDatabase(client), client, close: () => client.close() };
}
