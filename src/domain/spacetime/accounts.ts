import { and, asc, count, desc, eq, or, sql } from 'drizzle-orm';
import { identityDatabases, users, type UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { recordActivity } from '../activity/record';
import { clientRateLimitKey } from '../client-address';
import { hitRateLimit } from '../rate-limit';
import { fail, type Result } from '../result';
import { newUserRow } from '../users/users';
import { mintIdentityToken } from './tokens';

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

/** Attaches `email` to the account as its unverified address, replacing any earlier one. */
export async function setUnverifiedEmail(deps: Pick<Deps, 'db' | 'clock'>, user: UserRow, email: string, meta: RequestMeta): Promise<void> {
  await deps.db.update(users).set({ unverifiedEmail: email }).where(eq(users.id, user.id));
  await recordActivity(deps, { userId: user.id, action: 'unverified_email_set', severity: 'info', meta, metadata: { email } });
}

/** Database addresses registered to an identity, in the order they were registered; empty for an unknown identity. */
export async function listIdentityDatabases(deps: Pick<Deps, 'db'>, identity: string): Promise<string[]> {
  const rows = await deps.db
    .select({ address: identityDatabases.address })
    .from(identityDatabases)
    .innerJoin(users, eq(users.id, identityDatabases.userId))
    .where(eq(users.identity, identity))
    .orderBy(asc(identityDatabases.createdAt), asc(identityDatabases.address));
  return rows.map((row) => row.address);
}

/** Database addresses one identity may register. */
export const DATABASE_LIMIT = 100;

/**
 * Registers a database address to the account; registering it again changes nothing.
 * `forbidden` when another account owns the address, `database_limit` past 100 addresses. The
 * account's row is locked first, so concurrent registrations are counted one after another.
 */
export async function registerIdentityDatabase(
  deps: Pick<Deps, 'db' | 'clock'>,
  userId: string,
  address: string,
): Promise<Result<object, 'forbidden' | 'database_limit'>> {
  return deps.db.transaction(async (tx) => {
    await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('no key update');
    const [owned] = await tx
      .select({ count: count(), hasAddress: sql<boolean>`coalesce(bool_or(${identityDatabases.address} = ${address}), false)` })
      .from(identityDatabases)
      .where(eq(identityDatabases.userId, userId));
    if (owned!.hasAddress) return { ok: true };
    if (owned!.count >= DATABASE_LIMIT) {
      return fail('database_limit', `An identity can register at most ${DATABASE_LIMIT} databases; remove one first.`);
    }
    // The conflict branch only "updates" (and so returns) a row the caller already owns.
    const rows = await tx
      .insert(identityDatabases)
      .values({ userId, address, createdAt: deps.clock.now() })
      .onConflictDoUpdate({
        target: identityDatabases.address,
        set: { userId: sql`excluded.user_id` },
        setWhere: eq(identityDatabases.userId, userId),
      })
      .returning({ address: identityDatabases.address });
    if (rows.length === 0) return fail('forbidden', 'That database address is registered to another identity.');
    return { ok: true };
  });
}

/** Removes a database address from the account; removing one that is not there changes nothing. */
export async function removeIdentityDatabase(deps: Pick<Deps, 'db'>, userId: string, address: string): Promise<void> {
  await deps.db.delete(identityDatabases).where(and(eq(identityDatabases.userId, userId), eq(identityDatabases.address, address)));
}
