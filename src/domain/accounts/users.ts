import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/database';
import { users, type UserRow } from '../../db/schema';
import type { Deps } from '../../deps';
import { newId, randomToken } from '../crypto';
import { computeIdentity } from '../spacetime/identity';

/** A new account row: its id is the token `sub`, its identity derives from (`ISSUER`, id). */
export function newUserRow(deps: Pick<Deps, 'config' | 'clock' | 'random'>, fields: Partial<UserRow> = {}): UserRow {
  const id = newId(deps);
  return {
    id,
    email: null,
    unverifiedEmail: null,
    identity: computeIdentity(deps.config.issuer, id),
    webauthnUserId: randomToken(deps.random, 32),
    createdAt: deps.clock.now(),
    ...fields,
  };
}

/**
 * The account whose *verified* email is `email`, created when there is none. Accounts that only
 * carry the address unverified are never returned, so nobody can pre-register someone's email.
 */
export async function findOrCreateUserByEmail(
  deps: Pick<Deps, 'config' | 'clock' | 'random' | 'db'>,
  email: string,
  executor: Executor = deps.db,
): Promise<UserRow> {
  // Most sign-ins are of an existing account: one read. A new one is inserted; one created
  // meanwhile by another request is then read again.
  const [found] = await executor.select().from(users).where(eq(users.email, email));
  if (found) return found;
  const [created] = await executor
    .insert(users)
    .values(newUserRow(deps, { email }))
    .onConflictDoNothing({ target: users.email })
    .returning();
  if (created) return created;
  const [existing] = await executor.select().from(users).where(eq(users.email, email));
  if (!existing) throw new Error('user vanished between insert and select');
  return existing;
}

export async function findUserByEmail(deps: Pick<Deps, 'db'>, email: string): Promise<UserRow | undefined> {
  const [row] = await deps.db.select().from(users).where(eq(users.email, email));
  return row;
}
