import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { driver } from './helpers/db';
import { databaseUrl } from './helpers/postgres-url';
import { freePort } from './helpers/free-port';

const root = fileURLToPath(new URL('..', import.meta.url));

function migrate(env: Record<string, string>) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/entry/migrate.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status, stderr: run.stderr.trim(), stdout: run.stdout.trim() };
}

describe('npm run db:migrate', () => {
  it('says in one line that PostgreSQL cannot be reached, with the password hidden', async () => {
    const port = await freePort();
    const result = migrate({ DATABASE_URL: `postgres://app:s3cret@127.0.0.1:${port}/auth` });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('db:migrate: cannot reach PostgreSQL at postgres://app:***@127.0.0.1');
    expect(result.stderr).not.toContain('s3cret');
  });

  it.runIf(driver === 'postgres')('says in one line that the database does not exist', () => {
    const result = migrate({ DATABASE_URL: databaseUrl(`missing_${process.pid}`) });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^db:migrate: database "missing_\d+" does not exist: create it first/);
  });
});
