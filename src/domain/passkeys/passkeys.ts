import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, count, desc, eq } from 'drizzle-orm';
import { passkeys, users, type PasskeyRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { recordActivity } from '../activity/record';
import { passkeyAddedNotice } from '../../mail/templates';
import { newId } from '../crypto';
import { changeContext, sendMail } from '../notices/notices';
import { fail, type Failure, type Result } from '../result';
import { hasPermission } from '../sessions/permissions';
import type { SessionAuth } from '../sessions/sessions';
import { challengeOfResponse, consumeChallenge, storeChallenge } from './challenges';
import { defaultPasskeyName } from './names';
import { passkeyOrigins } from './origins';

/** Passkeys one account may hold. */
export const PASSKEY_LIMIT = 20;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const staleSession = (): Failure<'reauthentication_required'> =>
  fail('reauthentication_required', 'Sign in again: adding or removing a passkey needs a session less than 10 minutes old.');

/**
 * Creation options for a new discoverable passkey on the caller's account. The user handle is
 * the account's random `webauthn_user_id`, never the email; the challenge is kept five minutes.
 */
export async function createRegistrationOptions(
  deps: Deps,
  auth: SessionAuth,
): Promise<Result<{ options: PublicKeyCredentialCreationOptionsJSON }, 'reauthentication_required'>> {
  if (!hasPermission(deps, auth, 'passkeys:write')) return staleSession();
  const { user } = auth;
  const existing = await deps.db
    .select({ credentialId: passkeys.credentialId, transports: passkeys.transports })
    .from(passkeys)
    .where(eq(passkeys.userId, user.id));

  const name = user.email ?? user.identity;
  const options = await generateRegistrationOptions({
    rpName: deps.config.rpName,
    rpID: deps.config.rpId,
    userName: name,
    userDisplayName: name,
    userID: decodeBase64urlIgnorePadding(user.webauthnUserId) as Uint8Array<ArrayBuffer>,
    challenge: deps.random.bytes(32) as Uint8Array<ArrayBuffer>,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: deps.config.passkeyUserVerification },
  });
  await storeChallenge(deps, options.challenge, 'registration', user.id);
  return { ok: true, options };
}

/**
 * Verifies a registration response against a challenge issued to this account (spent first,
 * whatever the outcome) and stores the new passkey under `name`, or a default name from its
 * authenticator or the browser when none is given. The account's email gets a notice.
 */
export async function verifyRegistration(
  deps: Deps,
  auth: SessionAuth,
  input: { name?: string; response: RegistrationResponseJSON },
  meta: RequestMeta,
): Promise<Result<{ passkey: PasskeyRow }, 'reauthentication_required' | 'invalid_passkey' | 'passkey_limit' | 'unauthorized'>> {
  if (!hasPermission(deps, auth, 'passkeys:write')) return staleSession();
  const { user } = auth;

  const challenge = challengeOfResponse(input.response.response.clientDataJSON);
  if (!challenge || !(await consumeChallenge(deps, challenge, 'registration', user.id))) {
    return fail('invalid_passkey', 'The registration challenge is unknown, used or expired; start again.');
  }

  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: challenge,
      expectedOrigin: passkeyOrigins(deps.config),
      expectedRPID: deps.config.rpId,
      requireUserVerification: deps.config.passkeyUserVerification === 'required',
    });
  } catch (error) {
    return fail('invalid_passkey', `The passkey could not be verified: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!verification.verified) return fail('invalid_passkey', 'The passkey could not be verified.');

  const info = verification.registrationInfo;
  // The account's row is locked first, so concurrent registrations are counted one after another.
  const stored = await deps.db.transaction(async (tx) => {
    const [owner] = await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for('no key update');
    // Deleted while the ceremony ran (its sessions went with it): nothing to attach the passkey to.
    if (!owner) return fail('unauthorized', 'The account no longer exists.');
    const [held] = await tx.select({ count: count() }).from(passkeys).where(eq(passkeys.userId, user.id));
    if (held!.count >= PASSKEY_LIMIT) return fail('passkey_limit', `An account can hold at most ${PASSKEY_LIMIT} passkeys; remove one first.`);
    const [passkey] = await tx
      .insert(passkeys)
      .values({
        id: newId(deps),
        userId: user.id,
        credentialId: info.credential.id,
        publicKey: encodeBase64urlNoPadding(info.credential.publicKey),
        counter: info.credential.counter,
        name: input.name ?? defaultPasskeyName(info.aaguid, meta.userAgent),
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        transports: info.credential.transports ?? [],
        createdAt: deps.clock.now(),
        lastUsedAt: null,
      })
      .onConflictDoNothing({ target: passkeys.credentialId })
      .returning();
    if (!passkey) return fail('invalid_passkey', 'This passkey is already registered.');
    return { ok: true as const, passkey };
  });
  if (!stored.ok) return stored;
  const { passkey } = stored;

  await recordActivity(deps, {
    userId: user.id,
    action: 'passkey_registered',
    severity: 'info',
    meta,
    metadata: { passkeyId: passkey.id, name: passkey.name, deviceType: passkey.deviceType },
  });
  if (user.email) {
    sendMail(deps, user.email, passkeyAddedNotice({ ...changeContext(deps, meta), passkeyName: passkey.name }), 'sending a passkey notice failed');
  }
  return { ok: true, passkey };
}

/** The account's passkeys, newest first. */
export async function listPasskeys(deps: Pick<Deps, 'db'>, userId: string): Promise<PasskeyRow[]> {
  return deps.db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(desc(passkeys.createdAt), desc(passkeys.id));
}

/** Removes one of the caller's passkeys; `not_found` for anyone else's (or no such id). */
export async function deletePasskey(
  deps: Deps,
  auth: SessionAuth,
  passkeyId: string,
  meta: RequestMeta,
): Promise<Result<object, 'reauthentication_required' | 'not_found'>> {
  if (!hasPermission(deps, auth, 'passkeys:write')) return staleSession();
  if (!UUID.test(passkeyId)) return fail('not_found', 'No such passkey.');
  const [deleted] = await deps.db
    .delete(passkeys)
    .where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, auth.user.id)))
    .returning({ id: passkeys.id, name: passkeys.name });
  if (!deleted) return fail('not_found', 'No such passkey.');
  await recordActivity(deps, {
    userId: auth.user.id,
    action: 'passkey_deleted',
    severity: 'warning',
    meta,
    metadata: { passkeyId: deleted.id, name: deleted.name },
  });
  return { ok: true };
}

/**
 * Renames one of the caller's passkeys (no fresh session needed: a name grants nothing);
 * `not_found` for anyone else's. Logged as `passkey_renamed`.
 */
export async function renamePasskey(
  deps: Pick<Deps, 'db' | 'clock'>,
  auth: SessionAuth,
  passkeyId: string,
  name: string,
  meta: RequestMeta,
): Promise<Result<{ passkey: PasskeyRow }, 'not_found'>> {
  if (!UUID.test(passkeyId)) return fail('not_found', 'No such passkey.');
  const renamed = await deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select({ name: passkeys.name })
      .from(passkeys)
      .where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, auth.user.id)))
      .for('update');
    if (!before) return null;
    const [passkey] = await tx.update(passkeys).set({ name }).where(eq(passkeys.id, passkeyId)).returning();
    await recordActivity(
      deps,
      { userId: auth.user.id, action: 'passkey_renamed', severity: 'info', meta, metadata: { passkeyId, from: before.name, name } },
      tx,
    );
    return passkey!;
  });
  if (!renamed) return fail('not_found', 'No such passkey.');
  return { ok: true, passkey: renamed };
}
