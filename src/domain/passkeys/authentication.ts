import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { decodeBase64urlIgnorePadding } from '@oslojs/encoding';
import { and, eq } from 'drizzle-orm';
import { passkeys, users } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { recordActivity } from '../activity/record';
import { clientRateLimitKey } from '../client-address';
import { hitRateLimit } from '../rate-limit';
import { fail, type Failure, type Result } from '../result';
import { attemptSignIn } from '../sign-in/failures';
import { issueSignInToken } from '../sign-in/tokens';
import { challengeOfResponse, consumeChallenge, storeChallenge } from './challenges';
import { passkeyOrigins } from './origins';

/** Unauthenticated option requests per client IP: each one stores a challenge row. */
export const OPTIONS_LIMIT_PER_IP = { limit: 60, windowMs: 60 * 1000 };

/**
 * Request options for a usernameless sign-in: no `allowCredentials`, so the browser offers
 * every discoverable passkey it has for the RP. The challenge is kept five minutes.
 */
export async function createAuthenticationOptions(
  deps: Deps,
  meta: RequestMeta,
): Promise<Result<{ options: PublicKeyCredentialRequestOptionsJSON }, 'rate_limited'>> {
  if (deps.config.rateLimit && meta.ipAddress) {
    const decision = await hitRateLimit(deps, { key: `passkey-options:ip:${clientRateLimitKey(meta.ipAddress)}`, ...OPTIONS_LIMIT_PER_IP });
    if (!decision.allowed) return fail('rate_limited', 'Too many sign-in attempts; try again later.', decision.retryAfter);
  }
  const options = await generateAuthenticationOptions({
    rpID: deps.config.rpId,
    allowCredentials: [],
    userVerification: deps.config.passkeyUserVerification,
    challenge: deps.random.bytes(32) as Uint8Array<ArrayBuffer>,
  });
  await storeChallenge(deps, options.challenge, 'authentication', null);
  return { ok: true, options };
}

type AuthenticationResult = Result<{ token: string; email: string; expiresAt: Date }, 'unauthorized'>;

/**
 * Checks a passkey assertion and, when it holds, hands out a single-use sign-in token for
 * `POST /auth/sessions`. A failure counts against the client's budget of failed sign-ins, and a
 * client past it is refused before its challenge is touched. The challenge named in
 * `clientDataJSON` is spent before anything else is looked at; the signature counter is
 * advanced with a compare-and-set so that two assertions carrying the same counter cannot both
 * succeed.
 */
export function verifyAuthentication(
  deps: Deps,
  response: AuthenticationResponseJSON,
  meta: RequestMeta,
): Promise<AuthenticationResult | Failure<'rate_limited'>> {
  return attemptSignIn(deps, meta, () => checkAssertion(deps, response, meta));
}

async function checkAssertion(deps: Deps, response: AuthenticationResponseJSON, meta: RequestMeta): Promise<AuthenticationResult> {
  const reject = async (reason: string, userId: string | null = null): Promise<Failure<'unauthorized'>> => {
    await recordActivity(deps, { userId, action: 'sign_in_failed', severity: 'warning', meta, metadata: { method: 'passkey', reason } });
    return fail('unauthorized', reason === 'challenge' ? 'The sign-in challenge is unknown, used or expired; start again.' : 'The passkey could not be verified.');
  };

  const challenge = challengeOfResponse(response.response.clientDataJSON);
  if (!challenge) return reject('challenge');
  // The credential is read alongside the spend (one round trip), and looked at only once the
  // challenge is known to be spent.
  const [spent, [found]] = await Promise.all([
    consumeChallenge(deps, challenge, 'authentication', null),
    deps.db.select({ passkey: passkeys, user: users }).from(passkeys).innerJoin(users, eq(users.id, passkeys.userId)).where(eq(passkeys.credentialId, response.id)),
  ]);
  if (!spent) return reject('challenge');
  if (!found) return reject('unknown_credential');
  const { passkey, user } = found;

  // A discoverable credential names its account; it must be the one the credential belongs to.
  const userHandle = response.response.userHandle;
  if (userHandle !== undefined && userHandle.replace(/=+$/, '') !== user.webauthnUserId) return reject('user_handle_mismatch', user.id);

  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: passkeyOrigins(deps.config),
      expectedRPID: deps.config.rpId,
      credential: {
        id: passkey.credentialId,
        publicKey: decodeBase64urlIgnorePadding(passkey.publicKey) as Uint8Array<ArrayBuffer>,
        counter: passkey.counter,
        transports: passkey.transports,
      },
      requireUserVerification: deps.config.passkeyUserVerification === 'required',
    });
  } catch (error) {
    deps.log.log('info', 'passkey assertion rejected', { passkeyId: passkey.id, error: error instanceof Error ? error.message : String(error) });
    return reject('verification_failed', user.id);
  }
  if (!verification.verified) return reject('verification_failed', user.id);
  if (user.email === null) return reject('no_verified_email', user.id);
  const email = user.email;

  const { newCounter, credentialBackedUp, userVerified } = verification.authenticationInfo;
  // One statement: the counter advances by compare-and-set, and the token is stored only when it did.
  const advanced = deps.db.$with('advanced').as(
    deps.db
      .update(passkeys)
      .set({ counter: newCounter, backedUp: credentialBackedUp, lastUsedAt: deps.clock.now() })
      .where(and(eq(passkeys.id, passkey.id), eq(passkeys.counter, passkey.counter)))
      .returning({ id: passkeys.id }),
  );
  const issued = await issueSignInToken(deps, user.id, { passkeyId: passkey.id, userVerified }, advanced);
  if (!issued) return reject('counter_race', user.id);
  return { ok: true, email, ...issued };
}
