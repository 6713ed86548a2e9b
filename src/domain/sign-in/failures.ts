import type { Deps, RequestMeta } from '../../deps';
import { clientRateLimitKey } from '../client-address';
import { hitRateLimit, releaseRateLimitHit } from '../rate-limit';
import { fail, type Failure } from '../result';

/** Failed sign-ins (codes, passkey sign-in tokens, passkey assertions) one client may make per window. */
export const FAILED_SIGN_INS_PER_IP = { limit: 30, windowMs: 15 * 60 * 1000 };

/**
 * Runs one sign-in attempt against the client's budget of failures, one counter for every
 * sign-in route. The slot is taken before the attempt, so a blocked client never gets as far as
 * consuming or comparing a secret, and parallel failures can never overshoot; it is given back
 * when the attempt succeeds or another limit refused it, so only failures stay counted.
 */
export async function attemptSignIn<R extends { ok: true } | Failure>(
  deps: Deps,
  meta: RequestMeta,
  attempt: () => Promise<R>,
): Promise<R | Failure<'rate_limited'>> {
  if (!deps.config.rateLimit || !meta.ipAddress) return attempt();
  const decision = await hitRateLimit(deps, { key: `sign-in-failures:ip:${clientRateLimitKey(meta.ipAddress)}`, ...FAILED_SIGN_INS_PER_IP });
  if (!decision.allowed) return fail('rate_limited', 'Too many failed sign-ins from this address; try again later.', decision.retryAfter);
  const result = await attempt();
  if (result.ok || result.code === 'rate_limited') await releaseRateLimitHit(deps, decision.hit);
  return result;
}
