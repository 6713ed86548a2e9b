import { eq, sql, type WithSubquery } from 'drizzle-orm';
import type { Executor } from '../../db/database';
import { signInTokens, users, type UserRow } from '../../db/schema';
import type { Deps } from '../../deps';
import { randomToken, sha256Hex } from '../crypto';

export const SIGN_IN_TOKEN_TTL_MS = 5 * 60 * 1000;

/** What a passkey assertion proved: which passkey, and whether the authenticator verified the user (UV flag). */
export interface PasskeyProof {
  passkeyId: string;
  userVerified: boolean;
}

/**
 * A single-use token that a passkey assertion earns; only its SHA-256 is stored. It is stored by
 * the statement of `onlyIf`, a CTE (the passkey counter's compare-and-set), and only when that
 * CTE has a row: null when it had none.
 */
export async function issueSignInToken(
  deps: Pick<Deps, 'db' | 'clock' | 'random' | 'hasher'>,
  userId: string,
  proof: PasskeyProof,
  onlyIf: WithSubquery,
): Promise<{ token: string; expiresAt: Date } | null> {
  const token = randomToken(deps.random, 32);
  const expiresAt = new Date(deps.clock.now().getTime() + SIGN_IN_TOKEN_TTL_MS);
  const tokenHash = await sha256Hex(deps, token);
  // Named as the table's columns, in their order (drizzle checks both).
  const row = deps.db
    .select({
      tokenHash: sql`${tokenHash}`.as('token_hash'),
      userId: sql`${userId}`.as('user_id'),
      passkeyId: sql`${proof.passkeyId}`.as('passkey_id'),
      userVerified: sql`${proof.userVerified}::boolean`.as('user_verified'),
      expiresAt: sql`${expiresAt.toISOString()}::timestamptz`.as('expires_at'),
    })
    .from(onlyIf);
  const issued = deps.db.$with('issued').as(deps.db.insert(signInTokens).select(row).returning({ tokenHash: signInTokens.tokenHash }));
  const [stored] = await deps.db.with(onlyIf, issued).select().from(issued);
  return stored ? { token, expiresAt } : null;
}

/**
 * Spends a sign-in token (one DELETE … RETURNING, so only one caller can win it) and returns its
 * account, and whether the assertion verified the user, when the token was live; null when
 * unknown, used or expired.
 */
export async function consumeSignInToken(
  deps: Pick<Deps, 'db' | 'clock' | 'hasher'>,
  token: string,
  executor: Executor = deps.db,
): Promise<{ user: UserRow; userVerified: boolean } | null> {
  const consumed = executor.$with('consumed').as(
    executor
      .delete(signInTokens)
      .where(eq(signInTokens.tokenHash, await sha256Hex(deps, token)))
      .returning({ userId: signInTokens.userId, expiresAt: signInTokens.expiresAt, userVerified: signInTokens.userVerified }),
  );
  // The account is read by the statement that spends the token.
  const [row] = await executor
    .with(consumed)
    .select({ user: users, expiresAt: consumed.expiresAt, userVerified: consumed.userVerified })
    .from(consumed)
    .innerJoin(users, eq(users.id, consumed.userId));
  if (!row || row.expiresAt <= deps.clock.now()) return null;
  return { user: row.user, userVerified: row.userVerified };
}
