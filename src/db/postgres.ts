import { drizzle } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import type { Database } from './database';
import * as schema from './schema';

export interface PostgresOptions {
  /** Pool size; keep it small on Workers, where a client lives for one request. */
  max?: number;
  /**
   * Named prepared statements, cached per connection: a repeated statement is then one round
   * trip (Bind/Execute) instead of two (Parse/Describe, then Bind/Execute). Off by default, for
   * poolers that do not keep a server connection per client (Hyperdrive, PgBouncer in transaction
   * mode); the Node server turns it on.
   */
  prepare?: boolean;
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
  const db = drizzle(options.prepare ? preparing(client) : client, { schema }) as unknown as Database;
  return { db, close: () => client.end({ timeout: 5 }) };
}

/**
 * drizzle runs every builder query as `client.unsafe(text, params, { prepare: false })` unless the
 * query was given a name with `.prepare(name)`. This view of the client asks postgres.js to prepare
 * them all: it names each distinct statement text once per connection and re-uses it from then on
 * (the texts are the application's fixed set of queries, values always travel as parameters). The
 * clients of transactions and savepoints are seen the same way, so queries inside them are prepared
 * too. Everything else passes through untouched.
 */
function preparing<T extends Sql<any>>(client: T): T {
  return new Proxy(client, {
    get(target, key, receiver) {
      if (key === 'unsafe') {
        return (text: string, params?: unknown[], queryOptions?: object) =>
          target.unsafe(text, params as never, { ...queryOptions, prepare: true });
      }
      if (key === 'begin' || key === 'savepoint') {
        const open = Reflect.get(target, key, receiver) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const body = args.pop() as (tx: Sql<any>) => unknown;
          return open.call(target, ...args, (tx: Sql<any>) => body(preparing(tx)));
        };
      }
      return Reflect.get(target, key, receiver);
    },
  });
}
