import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { request, workerOutput } from './client';

// The cron trigger of wrangler.toml, fired through `wrangler dev --test-scheduled`: the worker's
// `scheduled` handler purges the same rows the Node server purges hourly.
const sql = postgres(inject('workerDatabaseUrl'), { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

const DAY_MS = 24 * 60 * 60 * 1000;
const tag = `scheduled-${process.pid}-${Date.now()}`;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);

async function remaining(): Promise<string[]> {
  const activity = await sql<{ action: string }[]>`select action from activity where action like ${`${tag}:%`}`;
  const limits = await sql<{ key: string }[]>`select key from rate_limits where key like ${`${tag}:%`}`;
  return [...activity.map((r) => r.action), ...limits.map((r) => r.key)].map((s) => s.slice(tag.length + 1)).sort();
}

describe('the scheduled handler', () => {
  it('deletes activity past retention, account-less activity past 30 days and expired counters; fresh rows stay', async () => {
    const [user] = await sql<{ id: string }[]>`
      insert into users (id, identity, webauthn_user_id, created_at)
      values (${`${tag}-user`}, ${`${tag}-identity`}, ${`${tag}-handle`}, now())
      returning id`;
    const activity = (action: string, userId: string | null, at: Date) =>
      sql`insert into activity (user_id, action, severity, metadata, created_at)
          values (${userId}, ${`${tag}:${action}`}, 'info', '{}'::jsonb, ${at})`;
    await activity('old', user!.id, daysAgo(366));
    await activity('kept', user!.id, daysAgo(364));
    await activity('anonymous-old', null, daysAgo(31));
    await activity('anonymous-kept', null, daysAgo(29));
    await sql`insert into rate_limits (key, reset_at) values
      (${`${tag}:expired-limit`}, ${daysAgo(1)}), (${`${tag}:live-limit`}, ${new Date(Date.now() + DAY_MS)})`;
    expect(await remaining()).toHaveLength(6);

    const res = await request('GET', `/__scheduled?cron=${encodeURIComponent('17 * * * *')}`);
    expect(res.status).toBe(200);

    // The purge runs under ctx.waitUntil, so it may finish a moment after the answer.
    const expected = ['anonymous-kept', 'kept', 'live-limit'];
    const deadline = Date.now() + 15_000;
    let left = await remaining();
    while (left.join() !== expected.join() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = await remaining();
    }
    expect(left).toEqual(expected);
    expect(workerOutput()).toContain('"msg":"purged expired rows"');

    await sql`delete from activity where action like ${`${tag}:%`}`;
    await sql`delete from rate_limits where key like ${`${tag}:%`}`;
    await sql`delete from users where id = ${user!.id}`;
  });
});
