import { and, eq, gt, lt, ne, sql } from 'drizzle-orm';
import { emailChangeCodes, users, type UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { emailChangeCodeMail, emailChangedNotice } from '../../mail/templates';
import { recordActivity } from '../activity/record';
import { constantTimeEqual, hmacSha256Hex, randomDigits } from '../crypto';
import { changeContext, sendMail } from '../notices/notices';
import { chargeCodeSend, CODE_TTL_MS, MAX_TRIES_PER_CODE, MAX_TRIES_PER_EMAIL } from '../otp/otp';
import { clearRateLimit, hitRateLimit } from '../rate-limit';
import { fail, type Failure, type Result } from '../result';
import { isFresh, type SessionAuth } from '../sessions/sessions';

const HOUR_MS = 60 * 60 * 1000;
const INVALID = 'The code is wrong, expired or already used.';

const staleSession = (): Failure<'reauthentication_required'> =>
  fail('reauthentication_required', 'Sign in again: changing the email address needs a session less than 10 minutes old.');

const taken = (): Failure<'email_taken'> => fail('email_taken', 'Another account uses this email address.');

// The purpose, the account and the address are all in the MAC: a change code is never a sign-in
// code, and one account's code is useless to another.
function hashCode(deps: Pick<Deps, 'config' | 'hasher'>, userId: string, email: string, code: string): Promise<string> {
  return hmacSha256Hex(deps, deps.config.authSecret, `email-change\n${userId}\n${email}\n${code}`);
}

const budgetKey = (email: string) => `email-change-verify:email:${email}`;

async function emailOwnedByOther(deps: Pick<Deps, 'db'>, userId: string, email: string): Promise<boolean> {
  const [other] = await deps.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.email, email), ne(users.id, userId)));
  return Boolean(other);
}

/**
 * Starts moving the caller's account to `email` (fresh session only): a 6-digit code is mailed
 * to the new address, under the sign-in codes' rules (10 minutes, 5 tries, 10 wrong tries per
 * address and hour) and sharing their send limits per address and per client IP, since both
 * fill the same inbox. A new request replaces the account's earlier code. `email_taken` when
 * another account owns the address.
 */
export async function requestEmailChange(
  deps: Deps,
  auth: SessionAuth,
  email: string,
  meta: RequestMeta,
): Promise<Result<{ expiresAt: Date }, 'reauthentication_required' | 'invalid_request' | 'email_taken' | 'rate_limited'>> {
  if (!isFresh(deps, auth.session)) return staleSession();
  const { user } = auth;
  if (user.email === email) return fail('invalid_request', 'This is already the account’s email address.');
  if (await emailOwnedByOther(deps, user.id, email)) return taken();

  const refused = await chargeCodeSend(deps, email, meta.ipAddress);
  if (refused) return refused;

  const code = randomDigits(deps.random, 6);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + CODE_TTL_MS);
  const row = { email, codeHash: await hashCode(deps, user.id, email, code), attempts: 0, expiresAt, createdAt: now };
  await deps.db
    .insert(emailChangeCodes)
    .values({ userId: user.id, ...row })
    .onConflictDoUpdate({ target: emailChangeCodes.userId, set: row });
  await recordActivity(deps, { userId: user.id, action: 'email_change_requested', severity: 'warning', meta, metadata: { email } });

  const mail = emailChangeCodeMail({ product: deps.config.rpName, code, minutes: CODE_TTL_MS / 60_000, email });
  sendMail(deps, email, mail, 'sending an email change code failed');
  return { ok: true, expiresAt };
}

/**
 * Finishes an email change with the code mailed to the new address. The try is reserved and
 * committed before the comparison, as for sign-in codes; the code is spent, the address checked
 * again (`email_taken`) and the account moved in one transaction, logged as `email_changed`.
 * From then on codes for the new address sign into this account and the old one signs up anew.
 * The old address gets a notice; cached sessions of the account are evicted.
 */
export async function confirmEmailChange(
  deps: Deps,
  auth: SessionAuth,
  input: { email: string; code: string },
  meta: RequestMeta,
): Promise<Result<{ user: UserRow }, 'invalid_code' | 'rate_limited' | 'email_taken'>> {
  const { user } = auth;
  const now = deps.clock.now();
  const reservation = await deps.db.transaction(async (tx) => {
    const [reserved] = await tx
      .update(emailChangeCodes)
      .set({ attempts: sql`${emailChangeCodes.attempts} + 1` })
      .where(
        and(
          eq(emailChangeCodes.userId, user.id),
          eq(emailChangeCodes.email, input.email),
          lt(emailChangeCodes.attempts, MAX_TRIES_PER_CODE),
          gt(emailChangeCodes.expiresAt, now),
        ),
      )
      .returning({ codeHash: emailChangeCodes.codeHash });
    if (!reserved) return fail('invalid_code', INVALID);
    const budget = await hitRateLimit(deps, { key: budgetKey(input.email), limit: MAX_TRIES_PER_EMAIL, windowMs: HOUR_MS }, tx);
    if (budget.allowed) return { ok: true as const, codeHash: reserved.codeHash };
    await tx
      .update(emailChangeCodes)
      .set({ attempts: sql`${emailChangeCodes.attempts} - 1` })
      .where(eq(emailChangeCodes.userId, user.id));
    return fail('rate_limited', 'Too many wrong codes for this email; try again later.', budget.retryAfter);
  });
  if (!reservation.ok) return reservation;
  const submitted = await hashCode(deps, user.id, input.email, input.code);
  if (!constantTimeEqual(submitted, reservation.codeHash)) return fail('invalid_code', INVALID);

  const oldEmail = user.email;
  const changed = await deps.db.transaction(async (tx) => {
    const [spent] = await tx
      .delete(emailChangeCodes)
      .where(and(eq(emailChangeCodes.userId, user.id), eq(emailChangeCodes.codeHash, submitted)))
      .returning({ email: emailChangeCodes.email });
    if (!spent) return fail('invalid_code', INVALID);
    // The unique index on users.email settles a race with a sign-up of the same address: the
    // update waits for the other transaction and then fails, and the whole change rolls back.
    const [other] = await tx.select({ id: users.id }).from(users).where(and(eq(users.email, spent.email), ne(users.id, user.id)));
    if (other) return taken();
    const [updated] = await tx.update(users).set({ email: spent.email }).where(eq(users.id, user.id)).returning();
    if (!updated) return fail('invalid_code', INVALID);
    await recordActivity(deps, { userId: user.id, action: 'email_changed', severity: 'warning', meta, metadata: { from: oldEmail, to: spent.email } }, tx);
    return { ok: true as const, user: updated };
  }).catch((error: unknown) => {
    if (isUniqueViolation(error)) return taken();
    throw error;
  });
  if (!changed.ok) return changed;

  deps.sessionCache?.evictUser(user.id);
  await clearRateLimit(deps, budgetKey(input.email));
  if (oldEmail) {
    const notice = emailChangedNotice({ ...changeContext(deps, meta), oldEmail, newEmail: changed.user.email! });
    sendMail(deps, oldEmail, notice, 'sending an email change notice failed');
  }
  return changed;
}

function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
