import { and, desc, eq, lt } from 'drizzle-orm';
import { users, type UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { deleteAccount } from '../accounts/deletion';
import { recordActivity } from '../activity/record';
import { fail, type Result } from '../result';
import { revokeAllSessions } from '../sessions/sessions';

export interface UserQuery {
  /** Exact match on the verified email (already trimmed and lower-cased). */
  email?: string;
  limit: number;
  /** Only accounts older than this id (ids are UUIDv7, so they sort by creation). */
  before?: string;
}

/** A page of accounts, newest first; `next` is the cursor for the following page. */
export async function listUsers(deps: Pick<Deps, 'db'>, query: UserQuery): Promise<{ users: UserRow[]; next: string | null }> {
  const rows = await deps.db
    .select()
    .from(users)
    .where(
      and(
        query.email === undefined ? undefined : eq(users.email, query.email),
        query.before === undefined ? undefined : lt(users.id, query.before),
      ),
    )
    .orderBy(desc(users.id))
    .limit(query.limit + 1);
  const more = rows.length > query.limit;
  const shown = more ? rows.slice(0, query.limit) : rows;
  return { users: shown, next: more ? shown.at(-1)!.id : null };
}

/** Signs a user out everywhere on an admin's behalf, logged on that user's activity. */
export async function revokeUserSessions(
  deps: Pick<Deps, 'db' | 'clock' | 'sessionCache'>,
  adminId: string,
  userId: string,
  meta: RequestMeta,
): Promise<Result<{ revoked: number }, 'not_found'>> {
  const [user] = await deps.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!user) return fail('not_found', 'No such user.');
  const revoked = await revokeAllSessions(deps, userId);
  await recordActivity(deps, {
    userId,
    action: 'sessions_revoked_by_admin',
    severity: 'warning',
    meta,
    metadata: { revoked, adminId },
  });
  return { ok: true, revoked };
}

/**
 * Deletes a user's account on an admin's behalf (see `deleteAccount`), logged as
 * `account_deleted` on the admin's activity; `not_found` for no such user.
 */
export function deleteUser(deps: Deps, adminId: string, userId: string, meta: RequestMeta): Promise<Result<object, 'not_found'>> {
  return deleteAccount(deps, userId, { kind: 'admin', adminId }, meta);
}
