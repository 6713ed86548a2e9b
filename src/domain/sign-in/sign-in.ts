import type { SessionRow, UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { findOrCreateUserByEmail, findUserByEmail } from '../accounts/users';
import { recordActivity } from '../activity/record';
import { consumeCode } from '../otp/otp';
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
 * first use) or a passkey sign-in token (`passkey`). Failures count against the client's
 * budget of failed sign-ins; a refused (`rate_limited`) attempt is not logged.
 */
export function signIn(deps: Deps, input: SignInInput, meta: RequestMeta): Promise<SignInResult> {
  return attemptSignIn(deps, meta, () =>
    input.method === 'passkey' ? signInWithPasskeyToken(deps, input, meta) : signInWithCode(deps, input, meta),
  );
}

async function signInWithCode(deps: Deps, input: SignInInput, meta: RequestMeta): Promise<SignInResult> {
  const consumed = await consumeCode(deps, input.email, input.token);
  if (!consumed.ok) {
    if (consumed.code === 'rate_limited') return consumed;
    // A guess at an email with no live code could never succeed; it is kept off that account's
    // log, which anyone could otherwise fill without sending the address a code.
    const user = consumed.reason === 'no_live_code' ? null : await findUserByEmail(deps, input.email);
    await recordActivity(deps, {
      userId: user?.id ?? null,
      action: 'sign_in_failed',
      severity: 'warning',
      meta,
      metadata: { method: input.method, reason: consumed.reason },
    });
    return fail('invalid_code', consumed.message);
  }
  const user = await findOrCreateUserByEmail(deps, input.email);
  const { token, session } = await createSession(deps, user, 'otp', meta);
  return { ok: true, token, session, user };
}

/** The token is spent before the email is compared, so a wrong guess burns it. */
async function signInWithPasskeyToken(deps: Deps, input: SignInInput, meta: RequestMeta): Promise<SignInResult> {
  const user = await consumeSignInToken(deps, input.token);
  if (!user || user.email !== input.email) {
    await recordActivity(deps, {
      userId: user?.id ?? null,
      action: 'sign_in_failed',
      severity: 'warning',
      meta,
      metadata: { method: 'passkey', reason: user ? 'email_mismatch' : 'invalid_token' },
    });
    return fail('invalid_code', 'The sign-in token is wrong, expired or already used, or belongs to another email.');
  }
  const { token, session } = await createSession(deps, user, 'passkey', meta);
  return { ok: true, token, session, user };
}
