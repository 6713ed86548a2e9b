import { and, asc, count, eq, sql } from 'drizzle-orm';
import { identityDatabases, users } from '../../db/schema';
import type { Deps } from '../../deps';
import { fail, type Result } from '../result';
import { requireOwnIdentity } from './ownership';
import type { Caller } from './tokens';

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
 * Registers a database address to `identity`, which must be the caller's (else `unauthorized`);
 * registering it again changes nothing. `forbidden` when another account owns the address,
 * `database_limit` past 100 addresses. The account's row is locked first, so concurrent
 * registrations are counted one after another.
 */
export async function registerIdentityDatabase(
  deps: Pick<Deps, 'db' | 'clock'>,
  caller: Caller,
  identity: string,
  address: string,
): Promise<Result<object, 'unauthorized' | 'forbidden' | 'database_limit'>> {
  const owned = requireOwnIdentity(caller, identity);
  if (!owned.ok) return owned;
  const userId = caller.user.id;
  return deps.db.transaction(async (tx) => {
    const [account] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('no key update');
    // Deleted while the request ran: its identity no longer exists.
    if (!account) return fail('unauthorized', 'The account no longer exists.');
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

/**
 * Removes a database address from `identity`, which must be the caller's (else `unauthorized`);
 * removing one that is not there changes nothing.
 */
export async function removeIdentityDatabase(
  deps: Pick<Deps, 'db'>,
  caller: Caller,
  identity: string,
  address: string,
): Promise<Result<object, 'unauthorized'>> {
  const owned = requireOwnIdentity(caller, identity);
  if (!owned.ok) return owned;
  await deps.db
    .delete(identityDatabases)
    .where(and(eq(identityDatabases.userId, caller.user.id), eq(identityDatabases.address, address)));
  return { ok: true };
}
