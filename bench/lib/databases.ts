import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Fresh, empty databases on one PostgreSQL server, each dropped again by `dropAll`. */
export function createDatabases(adminUrl: string) {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const created: string[] = [];
  const urlOf = (name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return {
    /** A new database named `<prefix>_<random>`; returns its URL. */
    async create(prefix: string): Promise<{ name: string; url: string }> {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await admin.unsafe(`create database "${name}"`);
      created.push(name);
      return { name, url: urlOf(name) };
    },
    /** The PostgreSQL backends connected to a database (their pids, for CPU accounting). */
    async backends(name: string): Promise<number[]> {
      const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name}`;
      return rows.map((r) => r.pid);
    },
    async serverVersion(): Promise<string> {
      const [row] = await admin<{ v: string }[]>`select current_setting('server_version') as v`;
      return row!.v;
    },
    async dropAll(): Promise<void> {
      for (const name of created.splice(0)) {
        await admin.unsafe(`drop database if exists "${name}" with (force)`).catch((error: unknown) => console.error(`dropping ${name} failed:`, error));
      }
      await admin.end({ timeout: 5 });
    },
  };
}

export type Databases = ReturnType<typeof createDatabases>;
