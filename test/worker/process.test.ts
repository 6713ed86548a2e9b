import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signIn, workerOutput } from './client';

// Runs after every other file (see vitest.worker.config.ts), so these checks cover all the
// requests, mails and database clients the worker handled during the run.
const sql = postgres(inject('workerDatabaseUrl'), { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

beforeAll(async () => {
  // Also meaningful when this file runs alone: at least one sign-in with a mail.
  await signIn();
});

describe('the worker process', () => {
  it('threw no uncaught exception while serving and mailing', () => {
    const output = workerOutput();
    expect(output).toMatch(/POST \/auth\/verify 202/);
    expect(output).not.toMatch(/Uncaught|Stream was cancelled|unhandled/i);
  });

  it('answered no request with a 5xx and logged no error but the refused mail', () => {
    const output = workerOutput();
    expect(output).not.toMatch(/^\[wrangler:info\] \w+ \S+ 5\d\d /m);
    const errors = output.split('\n').filter((line) => line.includes('"level":"error"'));
    for (const line of errors) expect(line).toContain('"msg":"sending a sign-in code failed"');
  });

  it('built the app once for every request the isolate served, not per request', () => {
    const output = workerOutput();
    const served = output.match(/^\[wrangler:info\] \w+ \S+ \d{3} /gm) ?? [];
    expect(served.length).toBeGreaterThan(50);
    expect(output.split('\n').filter((line) => line.includes('"msg":"app built"'))).toHaveLength(1);
  });

  it('leaves no database connection open once its requests are done (clients are never ended)', async () => {
    const others = async () =>
      (await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`)[0]!.n;
    const deadline = Date.now() + 5_000;
    let open = await others();
    while (open > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      open = await others();
    }
    expect(open).toBe(0);
  });
});
