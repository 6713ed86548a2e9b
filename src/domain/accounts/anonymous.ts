import { asc, desc, eq, or, sql } from 'drizzle-orm';
import { users, type UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { recordActivity } from '../activity/record';
import { clientRateLimitKey } from '../client-address';
import { hitRateLimit } from '../rate-limit';
import { fail, type Result } from '../result';
import { requireOwnIdentity } from '../spacetime/ownership';
import { mintIdentityToken, type Caller } from '../spacetime/tokens';
import { newUserRow } from './users';

/** Anonymous accounts one client address may create per window. */
export const ACCOUNT_CREATE_LIMIT_PER_IP = { limit: 100, windowMs: 15 * 60 * 1000 };

/**
 * Creates an anonymous account and its long-lived identity token. `unverifiedEmail`, when
 * given, is only a label: it never signs anyone in.
 */
export async function createAnonymousAccount(
  deps: Deps,
  unverifiedEmail: string | null,
  meta: RequestMeta,
): Promise<Result<{ user: UserRow; token: string }, 'rate_limited'>> {
  if (deps.config.rateLimit && meta.ipAddress) {
    const decision = await hitRateLimit(deps, { key: `identity-create:ip:${clientRateLimitKey(meta.ipAddress)}`, ...ACCOUNT_CREATE_LIMIT_PER_IP });
    if (!decision.allowed) return fail('rate_limited', 'Too many identities created; try again later.', decision.retryAfter);
  }
  const [user] = await deps.db.insert(users).values(newUserRow(deps, { unverifiedEmail })).returning();
  await recordActivity(deps, { userId: user!.id, action: 'account_created', severity: 'info', meta, metadata: { via: 'identity' } });
  return { ok: true, user: user!, token: await mintIdentityToken(deps, user!) };
}

/** An identity listed under an email address, and whether its account proved the address. */
export interface IdentityOfEmail {
  identity: string;
  email: string;
  verified: boolean;
}

/**
 * The identities that carry `email`: first the account that verified it (signed in with a code
 * sent to it), then those that merely claim it (`set-email`, `POST /identity?email=`), oldest
 * first, so a planted identity never comes before the owner's.
 */
export async function findIdentitiesByEmail(deps: Pick<Deps, 'db'>, email: string): Promise<IdentityOfEmail[]> {
  // Not `email = $1`: that is null (sorted first by DESC) for accounts without a verified address.
  const verified = sql<boolean>`${users.email} is not distinct from ${email}`;
  const rows = await deps.db
    .select({ identity: users.identity, verified })
    .from(users)
    .where(or(eq(users.email, email), eq(users.unverifiedEmail, email)))
    .orderBy(desc(verified), asc(users.createdAt), asc(users.id));
  return rows.map((row) => ({ identity: row.identity, email, verified: row.verified === true }));
}

/**
 * Attaches `email` to `identity`, which must be the caller's (else `unauthorized`), as its
 * unverified address, replacing any earlier one.
 */
export async function setUnverifiedEmail(
  deps: Pick<Deps, 'db' | 'clock' | 'sessionCache'>,
  caller: Caller,
  identity: string,
  email: string,
  meta: RequestMeta,
): Promise<Result<object, 'unauthorized'>> {
  const owned = requireOwnIdentity(caller, identity);
  if (!owned.ok) return owned;
  const userId = caller.user.id;
  await deps.db.update(users).set({ unverifiedEmail: email }).where(eq(users.id, userId));
  deps.sessionCache?.evictUser(userId);
  await recordActivity(deps, { userId, action: 'unverified_email_set', severity: 'info', meta, metadata: { email } });
  return { ok: true };
}
