import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { and, eq, lt } from 'drizzle-orm';
import { webauthnChallenges } from '../../db/schema';
import type { Deps } from '../../deps';

export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

export type ChallengeKind = 'registration' | 'authentication';

/** Keeps a challenge handed to a browser until it comes back, at most five minutes. */
export async function storeChallenge(
  deps: Pick<Deps, 'db' | 'clock'>,
  challenge: string,
  kind: ChallengeKind,
  userId: string | null,
): Promise<void> {
  const now = deps.clock.now();
  // Abandoned ceremonies leave rows behind; each new one sweeps the expired ones (indexed), in
  // the statement that stores it. The sweep never touches the new row (it is not expired).
  const swept = deps.db.$with('swept').as(deps.db.delete(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, now)));
  await deps.db
    .with(swept)
    .insert(webauthnChallenges)
    .values({ challenge, kind, userId, expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS) });
}

/** The challenge a WebAuthn response claims to answer, read from its `clientDataJSON`; null when unreadable. */
export function challengeOfResponse(clientDataJSON: string): string | null {
  try {
    const { challenge } = decodeClientDataJSON(clientDataJSON);
    return typeof challenge === 'string' && challenge.length > 0 && challenge.length <= 512 ? challenge : null;
  } catch {
    return null;
  }
}

/**
 * Spends a challenge in one DELETE … RETURNING, so it answers at most one response even under
 * concurrent requests. True only when it existed for this kind (and user) and had not expired.
 */
export async function consumeChallenge(
  deps: Pick<Deps, 'db' | 'clock'>,
  challenge: string,
  kind: ChallengeKind,
  userId: string | null,
): Promise<boolean> {
  const conditions = [eq(webauthnChallenges.challenge, challenge), eq(webauthnChallenges.kind, kind)];
  if (userId !== null) conditions.push(eq(webauthnChallenges.userId, userId));
  const [row] = await deps.db
    .delete(webauthnChallenges)
    .where(and(...conditions))
    .returning({ expiresAt: webauthnChallenges.expiresAt });
  return row !== undefined && row.expiresAt > deps.clock.now();
}
