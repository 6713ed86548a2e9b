import type { SessionRow, UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { findOrCreateUserByEmail, findUserByEmail } from '../accounts/users';
import { recordActivity } from '../activity/record';
import { checkCode, spendCode } from '../otp/otp';
import { fail, type Result } from '../result';
import { createSession, type SessionMethod } from '../sessions/sessions';
import { attemptSignIn } from './failures';
import { consumeSignInToken } from './tokens';

export interface SignInInput {
  method: SessionMethod;
  email: string;
  token: string;
}

export type SignInResult = Result<{ token: string; session: SessionRow; user: UserRow }, 'invalid_code' | 'rate_limited'>;

/**
 * Exchanges a one-time secret for a session: an emailed code (`otp`, creating the account on
 * first use) or a passkey sign-in token (`passkey`). Spending the secret, finding or creating
 * the account, opening the session and logging `session_created` are one transaction: they
 * happen together or not at all. Failures count against the client's budget of failed sign-ins
 * and are logged as `sign_in_failed` after that transaction; a refused (`rate_limited`) attempt
 * is not logged.
 */
export function signIn(deps: Deps, input: SignInInput, meta: RequestMeta): Promise<SignInResult> {
  return attemptSignIn(deps, meta, () =>
    input.method === 'passkey' ? signInWithPasskeyToken(deps, input, meta) : signInWithCode(deps, input, meta),
  );
}

/** The try on the code is reserved and committed by `checkCode` first, so a rollback below never gives a guess back. */
async function signInWithCode(deps: Deps, input: SignInInput, meta: RequestMeta): Promise<SignInResult> {
  const checked = await checkCode(deps, input.email, input.token);
  if (!checked.ok) {
    if (checked.code === 'rate_limited') return checked;
    return refuseCode(deps, input, meta, checked);
  }
  let signedIn;
  try {
    signedIn = await deps.db.transaction(async (tx) => {
      // Sent together, one round trip on PostgreSQL: the account is found (or made) alongside
      // the spend, and rolled back with everything else when the code was not spent.
      const [spent, user] = await Promise.all([spendCode(deps, checked.matched, tx), findOrCreateUserByEmail(deps, input.email, tx)]);
      if (!spent.ok) throw new RolledBack(spent);
      return { ok: true as const, user, ...(await createSession(deps, user, 'otp', meta, tx)) };
    });
  } catch (error) {
    if (error instanceof RolledBack) return refuseCode(deps, input, meta, error.rejection);
    throw error;
  }
  return signedIn;
}

/** Thrown out of a transaction to roll it back, carrying the refusal that did. */
class RolledBack extends Error {
  constructor(readonly rejection: { reason: 'invalid_code'; message?: string }) {
    super('rolled back');
  }
}

async function refuseCode(
  deps: Deps,
  input: SignInInput,
  meta: RequestMeta,
  rejection: { reason: 'no_live_code' | 'invalid_code'; message?: string },
): Promise<SignInResult> {
  // A guess at an email with no live code could never succeed; it is kept off that account's
  // log, which anyone could otherwise fill without sending the address a code.
  const user = rejection.reason === 'no_live_code' ? null : await findUserByEmail(deps, input.email);
  await recordActivity(deps, {
    userId: user?.id ?? null,
    action: 'sign_in_failed',
    severity: 'warning',
    meta,
    metadata: { method: input.method, reason: rejection.reason },
  });
  return fail('invalid_code', rejection.message);
}

/**
 * The token is spent before the email is compared, so a wrong guess burns it: on a mismatch
 * the transaction commits the spend and opens no session.
 */
async function signInWithPasskeyToken(deps: Deps, input: SignInInput, meta: RequestMeta): Promise<SignInResult> {
  const outcome = await deps.db.transaction(async (tx) => {
    const consumed = await consumeSignInToken(deps, input.token, tx);
    const user = consumed?.user;
    if (!consumed || !user || user.email !== input.email) {
      return { ok: false as const, userId: user?.id ?? null, reason: user ? 'email_mismatch' : 'invalid_token' };
    }
    return { ok: true as const, user, ...(await createSession(deps, user, 'passkey', meta, tx, { userVerified: consumed.userVerified })) };
  });
  if (outcome.ok) return outcome;
  await recordActivity(deps, {
    userId: outcome.userId,
    action: 'sign_in_failed',
    severity: 'warning',
    meta,
    metadata: { method: 'passkey', reason: outcome.reason },
  });
  return fail('invalid_code', 'The sign-in token is wrong, expired or already used, or belongs to another email.');
}
