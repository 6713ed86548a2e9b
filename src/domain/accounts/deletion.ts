import { eq, sql } from 'drizzle-orm';
import { activity, users } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { accountDeletedNotice } from '../../mail/templates';
import { recordActivity } from '../activity/record';
import { changeContext, sendMail } from '../notices/notices';
import { fail, type Failure, type Result } from '../result';
import { isFresh, type SessionAuth } from '../sessions/sessions';

/**
 * Metadata keys that can say who the person was (email addresses, a profile's handle, a passkey's
 * name such as "Ada's iPhone"); removed from the activity rows of a deleted account.
 */
const PERSONAL_METADATA_KEYS = ['email', 'from', 'to', 'handle', 'name'];

/** Who asked for the deletion: the account itself, or an admin (logged on the admin's activity). */
export type Deleter = { kind: 'self' } | { kind: 'admin'; adminId: string };

/**
 * Deletes an account and everything it owns, in one transaction: sessions, passkeys, pending
 * challenges and sign-in tokens, profiles, database registrations, a pending email change, and
 * OpenID Connect codes, grants and refresh tokens (their foreign keys cascade from the account's
 * row). Its activity rows stay, detached from the account and without IP address, user agent,
 * email addresses, handles or passkey names, until retention removes them (as rows of no account, after 30 days). The
 * address is then free: signing in with it creates a new account with a new identity. The old
 * address gets a notice; cached sessions of the account are evicted.
 */
export async function deleteAccount(
  deps: Deps,
  userId: string,
  deleter: Deleter,
  meta: RequestMeta,
): Promise<Result<object, 'not_found'>> {
  // An admin deleting their own account deletes it as its owner: the log row has nobody else to go to.
  const byAdmin = deleter.kind === 'admin' && deleter.adminId !== userId ? deleter : null;
  const deleted = await deps.db.transaction(async (tx) => {
    // Locked first: a concurrent sign-in or registration waits, then finds no account.
    const [user] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
    if (!user) return null;
    let metadata = sql`${activity.metadata}`;
    for (const key of PERSONAL_METADATA_KEYS) metadata = sql`${metadata} - ${key}::text`;
    await tx
      .update(activity)
      .set({ userId: null, ipAddress: null, userAgent: null, metadata })
      .where(eq(activity.userId, userId));
    await tx.delete(users).where(eq(users.id, userId));
    await recordActivity(
      deps,
      byAdmin
        ? { userId: byAdmin.adminId, action: 'account_deleted', severity: 'critical', meta, metadata: { userId, identity: user.identity } }
        : { userId: null, action: 'account_deleted', severity: 'critical', meta: { ipAddress: null, userAgent: null }, metadata: { by: 'self' } },
      tx,
    );
    return user;
  });
  if (!deleted) return fail('not_found', 'No such user.');

  deps.sessionCache?.evictUser(userId);
  if (deleted.email) {
    const notice = accountDeletedNotice({ ...changeContext(deps, meta), email: deleted.email, byAdmin: Boolean(byAdmin) });
    sendMail(deps, deleted.email, notice, 'sending an account deletion notice failed');
  }
  return { ok: true };
}

/** `DELETE /auth/account`: the caller deletes their own account, from a fresh session only. */
export async function deleteOwnAccount(
  deps: Deps,
  auth: SessionAuth,
  meta: RequestMeta,
): Promise<Result<object, 'reauthentication_required' | 'not_found'>> {
  if (!isFresh(deps, auth.session)) return staleSession();
  return deleteAccount(deps, auth.user.id, { kind: 'self' }, meta);
}

const staleSession = (): Failure<'reauthentication_required'> =>
  fail('reauthentication_required', 'Sign in again: deleting the account needs a session less than 10 minutes old.');
