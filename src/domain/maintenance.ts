import { lte } from 'drizzle-orm';
import { otpCodes, rateLimits, sessions, signInTokens, webauthnChallenges } from '../db/schema';
import type { Deps } from '../deps';

/**
 * Deletes what has expired: codes, counters, sessions, challenges, sign-in tokens. Nothing
 * depends on it for correctness (every read checks expiry); it only keeps the tables small.
 */
export async function purgeExpired(deps: Pick<Deps, 'db' | 'clock'>): Promise<void> {
  const now = deps.clock.now();
  await deps.db.delete(otpCodes).where(lte(otpCodes.expiresAt, now));
  await deps.db.delete(rateLimits).where(lte(rateLimits.resetAt, now));
  await deps.db.delete(sessions).where(lte(sessions.expiresAt, now));
  await deps.db.delete(webauthnChallenges).where(lte(webauthnChallenges.expiresAt, now));
  await deps.db.delete(signInTokens).where(lte(signInTokens.expiresAt, now));
}
