import { and, isNull, lt, lte } from 'drizzle-orm';
import { activity, oauthAuthorizationRequests, oauthCodes, otpCodes, rateLimits, sessions, signInTokens, webauthnChallenges } from '../db/schema';
import type { Deps } from '../deps';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Activity with no account (failed sign-ins for unknown addresses, say) is kept this long. */
export const ANONYMOUS_ACTIVITY_RETENTION_DAYS = 30;

/**
 * Deletes what has expired: codes, counters, sessions, challenges, sign-in tokens, OpenID
 * Connect authorization requests and codes (a used code's grant lives on), activity
 * older than `ACTIVITY_RETENTION_DAYS`, and activity of no account older than 30 days. Every
 * read checks expiry anyway; this keeps the tables from growing without bound.
 */
export async function purgeExpired(deps: Pick<Deps, 'db' | 'clock' | 'config'>): Promise<void> {
  const now = deps.clock.now();
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS);
  await deps.db.delete(otpCodes).where(lte(otpCodes.expiresAt, now));
  await deps.db.delete(rateLimits).where(lte(rateLimits.resetAt, now));
  await deps.db.delete(sessions).where(lte(sessions.expiresAt, now));
  await deps.db.delete(webauthnChallenges).where(lte(webauthnChallenges.expiresAt, now));
  await deps.db.delete(signInTokens).where(lte(signInTokens.expiresAt, now));
  await deps.db.delete(oauthAuthorizationRequests).where(lte(oauthAuthorizationRequests.expiresAt, now));
  await deps.db.delete(oauthCodes).where(lte(oauthCodes.expiresAt, now));
  await deps.db.delete(activity).where(lt(activity.createdAt, daysAgo(deps.config.activityRetentionDays)));
  await deps.db
    .delete(activity)
    .where(and(isNull(activity.userId), lt(activity.createdAt, daysAgo(ANONYMOUS_ACTIVITY_RETENTION_DAYS))));
}
