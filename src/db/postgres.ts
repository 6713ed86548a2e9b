import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database } from './database';
import * as schema from './schema';

export interface PostgresOptions {
  /** Pool size; keep it small on Workers, where a client lives for one request. */
  max?: number;
}

/** Opens PostgreSQL through postgres.js. Connections are made lazily and re-made after outages. */
export function openPostgres(url: string, options: PostgresOptions = {}): { db: Database; close(): Promise<void> } {
  const client = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: 5,
    // postgres.js waits up to 20 s between reconnects once failures pile up, and queries queue
    // behind that wait: an outage then answers 503 only after 20 s, and recovery lags as long.
    // At most a second between tries keeps both within the contract's bounds.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    idle_timeout: 30,
    onnotice: () => {},
  });
  const db = drizzle(client, { schema }) as unknown as Database;
  return { db, close: () => client.end({ timeout: 5 }) };
}
