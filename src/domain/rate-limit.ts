import { and, eq, sql, type SQL, type WithSubquery } from 'drizzle-orm';
import { rateLimits } from '../db/schema';
import type { Executor } from '../db/database';
import type { Deps } from '../deps';

export interface RateLimitRule {
  /** Names the limit and its subject, e.g. `otp-send:email:a@b.c`. */
  key: string;
  limit: number;
  windowMs: number;
}

/** One admitted hit, so that it can be given back (`releaseRateLimitHit`). */
export interface RateLimitHit {
  key: string;
  at: Date;
}

export type RateLimitDecision = { allowed: true; hit: RateLimitHit } | { allowed: false; retryAfter: number };

const timestamptz = (date: Date) => sql`${date.toISOString()}::timestamptz`;

/** The row's hits that are still inside the window that ends now. */
const liveHits = (since: Date) =>
  sql`array(select h from unnest(${rateLimits.hits}) as h where h > ${timestamptz(since)} order by h)`;

/**
 * Counts one hit against a sliding window kept in the database: no span of `windowMs` ever
 * admits more than `limit` hits, wherever they fall against a clock edge. A single upsert
 * decides and records the hit, so concurrent requests and separate processes see one counter;
 * a refused hit is not recorded, so hammering a closed limit does not keep it closed.
 */
export async function hitRateLimit(
  deps: Pick<Deps, 'db' | 'clock'>,
  rule: RateLimitRule,
  executor: Executor = deps.db,
): Promise<RateLimitDecision> {
  const now = deps.clock.now();
  const [admitted] = await rateLimitHitQuery(executor, rule, now);
  if (admitted) return { allowed: true, hit: { key: rule.key, at: now } };
  return { allowed: false, retryAfter: await rateLimitRetryAfter(executor, rule, now) };
}

/**
 * The upsert of `hitRateLimit`, returning the key when the hit is admitted, to run alone or as
 * part of another statement (a CTE). With `onlyIf`, a CTE of that statement, the hit is counted
 * only when that CTE has a row.
 */
export function rateLimitHitQuery(executor: Executor, rule: RateLimitRule, now: Date, onlyIf?: WithSubquery) {
  const since = new Date(now.getTime() - rule.windowMs);
  const resetAt = new Date(now.getTime() + rule.windowMs);
  const hits = sql`array[${timestamptz(now)}]`;
  const insert = executor.insert(rateLimits);
  const hit = onlyIf
    ? // Named as the table's columns, in their order (drizzle checks both).
      insert.select(executor.select({ key: sql`${rule.key}`.as('key'), hits: hits.as('hits'), resetAt: sql`${timestamptz(resetAt)}`.as('reset_at') }).from(onlyIf))
    : insert.values({ key: rule.key, hits, resetAt });
  return hit
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: { hits: sql`${liveHits(since)} || ${timestamptz(now)}`, resetAt },
      setWhere: sql`cardinality(${liveHits(since)}) < ${rule.limit}`,
    })
    .returning({ key: rateLimits.key });
}

/** Seconds until a refused limit admits a hit again: when the oldest hit in the window leaves it. */
export async function rateLimitRetryAfter(executor: Executor, rule: RateLimitRule, now: Date): Promise<number> {
  const since = new Date(now.getTime() - rule.windowMs);
  const [row] = await executor
    .select({
      oldest: sql<number | null>`(select extract(epoch from min(h)) * 1000 from unnest(${rateLimits.hits}) as h where h > ${timestamptz(since)})`.mapWith(
        (value) => (value === null ? null : Number(value)),
      ),
    })
    .from(rateLimits)
    .where(eq(rateLimits.key, rule.key));
  const opensAt = row?.oldest != null ? row.oldest + rule.windowMs : now.getTime();
  return Math.max(1, Math.ceil((opensAt - now.getTime()) / 1000));
}

/** Gives one admitted hit back, e.g. when what it was reserved for turned out not to count. */
export async function releaseRateLimitHit(deps: Pick<Deps, 'db'>, hit: RateLimitHit): Promise<void> {
  const at = timestamptz(hit.at);
  const position = sql`array_position(${rateLimits.hits}, ${at})`;
  await deps.db
    .update(rateLimits)
    .set({ hits: sql`${rateLimits.hits}[:${position} - 1] || ${rateLimits.hits}[${position} + 1:]` })
    .where(and(eq(rateLimits.key, hit.key), sql`${at} = any(${rateLimits.hits})`));
}

/** The statement of `clearRateLimit`, to run as part of another (a CTE), and only `when` given. */
export function clearRateLimitQuery(executor: Executor, key: string, when?: SQL) {
  return executor.delete(rateLimits).where(and(eq(rateLimits.key, key), when));
}

export async function clearRateLimit(deps: Pick<Deps, 'db'>, key: string, executor: Executor = deps.db): Promise<void> {
  await clearRateLimitQuery(executor, key);
}
