import { eq, sql } from 'drizzle-orm';
import { rateLimits } from '../db/schema';
import type { Deps } from '../deps';

export interface RateLimitRule {
  /** Names the limit and its subject, e.g. `otp-send:email:a@b.c`. */
  key: string;
  limit: number;
  windowMs: number;
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfter: number };

/**
 * Counts one hit against a fixed window kept in the database, in a single upsert, so that
 * concurrent requests and separate processes see one counter.
 */
export async function hitRateLimit(deps: Pick<Deps, 'db' | 'clock'>, rule: RateLimitRule): Promise<RateLimitDecision> {
  const now = deps.clock.now();
  const nowSql = sql`${now.toISOString()}::timestamptz`;
  const resetAt = new Date(now.getTime() + rule.windowMs);
  const [row] = await deps.db
    .insert(rateLimits)
    .values({ key: rule.key, count: 1, resetAt })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`case when ${rateLimits.resetAt} <= ${nowSql} then 1 else ${rateLimits.count} + 1 end`,
        resetAt: sql`case when ${rateLimits.resetAt} <= ${nowSql} then ${resetAt.toISOString()}::timestamptz else ${rateLimits.resetAt} end`,
      },
    })
    .returning({ count: rateLimits.count, resetAt: rateLimits.resetAt });
  if (!row || row.count <= rule.limit) return { allowed: true };
  return { allowed: false, retryAfter: Math.max(1, Math.ceil((row.resetAt.getTime() - now.getTime()) / 1000)) };
}

export async function clearRateLimit(deps: Pick<Deps, 'db'>, key: string): Promise<void> {
  await deps.db.delete(rateLimits).where(eq(rateLimits.key, key));
}
