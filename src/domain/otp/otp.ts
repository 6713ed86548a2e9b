import { and, eq, exists, gt, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/database';
import { otpCodes } from '../../db/schema';
import type { Deps } from '../../deps';
import { constantTimeEqual, hmacSha256Hex, randomDigits } from '../crypto';
import { clientRateLimitKey } from '../client-address';
import { clearRateLimitQuery, hitRateLimit, rateLimitHitQuery, rateLimitRetryAfter } from '../rate-limit';
import { signInCodeMail } from '../../mail/templates';
import { sendMail } from '../notices/notices';
import { fail, type Failure, type Result } from '../result';

export const CODE_TTL_MS = 10 * 60 * 1000;
export const MAX_TRIES_PER_CODE = 5;
/** Guesses per email per hour, whatever the number of codes sent. */
export const MAX_TRIES_PER_EMAIL = 10;
export const SEND_LIMIT_PER_EMAIL = { limit: 5, windowMs: 15 * 60 * 1000 };
export const SEND_LIMIT_PER_IP = { limit: 100, windowMs: 15 * 60 * 1000 };
const HOUR_MS = 60 * 60 * 1000;

function hashCode(deps: Pick<Deps, 'config' | 'hasher'>, email: string, code: string): Promise<string> {
  // The email is part of the MAC, so a code's hash is useless for any other address.
  return hmacSha256Hex(deps, deps.config.authSecret, `otp\n${email}\n${code}`);
}

/**
 * Counts one mailed code against the send limits per address and per client IP, shared by
 * every code that goes to an inbox (sign-in and email change); the refusal when one is spent.
 */
export async function chargeCodeSend(
  deps: Pick<Deps, 'config' | 'db' | 'clock'>,
  email: string,
  ipAddress: string | null,
): Promise<Failure<'rate_limited'> | null> {
  if (!deps.config.rateLimit) return null;
  // The client's limit first: a client already refused must not spend the email's sends.
  const rules = [{ key: `otp-send:email:${email}`, ...SEND_LIMIT_PER_EMAIL }];
  if (ipAddress) rules.unshift({ key: `otp-send:ip:${clientRateLimitKey(ipAddress)}`, ...SEND_LIMIT_PER_IP });
  for (const rule of rules) {
    const decision = await hitRateLimit(deps, rule);
    if (!decision.allowed) return fail('rate_limited', 'Too many codes requested; try again later.', decision.retryAfter);
  }
  return null;
}

/**
 * Issues a fresh 6-digit code for `email`, replacing any earlier one, and mails it in the
 * background. Answers the same whether or not an account exists.
 */
export async function requestCode(
  deps: Deps,
  email: string,
  ipAddress: string | null,
): Promise<Result<{ expiresAt: Date }, 'rate_limited'>> {
  const refused = await chargeCodeSend(deps, email, ipAddress);
  if (refused) return refused;

  const code = randomDigits(deps.random, 6);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + CODE_TTL_MS);
  const row = { codeHash: await hashCode(deps, email, code), attempts: 0, expiresAt, createdAt: now };
  await deps.db
    .insert(otpCodes)
    .values({ email, ...row })
    .onConflictDoUpdate({ target: otpCodes.email, set: row });

  sendMail(deps, email, signInCodeMail({ product: deps.config.rpName, code, minutes: CODE_TTL_MS / 60_000 }), 'sending a sign-in code failed');
  return { ok: true, expiresAt };
}

/**
 * Why a code was refused: `no_live_code` when the email has no code left to guess (none sent,
 * expired, used or burned), which costs the email nothing; `invalid_code` when a try was spent.
 */
export type CodeRejection = (Failure<'invalid_code'> & { reason: 'no_live_code' | 'invalid_code' }) | Failure<'rate_limited'>;

const INVALID = 'The code is wrong, expired or already used.';

const emailBudgetKey = (email: string) => `otp-verify:email:${email}`;

/** A code that matched its email's live code, still to be spent with `spendCode`. */
export interface MatchedCode {
  email: string;
  codeHash: string;
}

/**
 * Checks `code` against the email's live code. One statement, committed before the comparison,
 * locks the live code, charges a try to the email (at most 10 per hour, whatever the number of
 * codes sent) and, when the email's budget admits it, reserves the try on the code (at most 5 per
 * code). So parallel guesses see exact budgets; a guess with no live code costs the email nothing,
 * and one the email's budget refuses costs the code nothing.
 * A match is not spent yet: `spendCode` does that.
 */
export async function checkCode(deps: Deps, email: string, code: string): Promise<{ ok: true; matched: MatchedCode } | CodeRejection> {
  const now = deps.clock.now();
  const budget = { key: emailBudgetKey(email), limit: MAX_TRIES_PER_EMAIL, windowMs: HOUR_MS };
  const db = deps.db;
  // The code's row is locked before the budget's, in the order a spend takes them (`spendCode`):
  // the charge reads `live`, and the try waits on the charge.
  const live = db.$with('live').as(
    db
      .select({ email: otpCodes.email })
      .from(otpCodes)
      .where(and(eq(otpCodes.email, email), lt(otpCodes.attempts, MAX_TRIES_PER_CODE), gt(otpCodes.expiresAt, now)))
      .for('update'),
  );
  const charged = db.$with('charged').as(rateLimitHitQuery(db, budget, now, live));
  const reserved = db.$with('reserved').as(
    db
      .update(otpCodes)
      .set({ attempts: sql`${otpCodes.attempts} + 1` })
      .where(and(eq(otpCodes.email, email), exists(db.select().from(charged))))
      .returning({ codeHash: otpCodes.codeHash }),
  );
  const [row] = await db.with(live, charged, reserved).select({ codeHash: reserved.codeHash }).from(live).leftJoin(reserved, sql`true`);
  // No live code: no guess, and nothing is charged to the email.
  if (!row) return { ...fail('invalid_code', INVALID), reason: 'no_live_code' };
  // Refused before the comparison: the code was not guessed at and keeps its try.
  if (row.codeHash === null) return fail('rate_limited', 'Too many wrong codes for this email; try again later.', await rateLimitRetryAfter(db, budget, now));

  const submitted = await hashCode(deps, email, code);
  if (!constantTimeEqual(submitted, row.codeHash)) return { ...fail('invalid_code', INVALID), reason: 'invalid_code' };
  return { ok: true, matched: { email, codeHash: submitted } };
}

/**
 * Spends a matched code with a single DELETE … RETURNING, so only one caller can ever win it,
 * and clears the email's budget of wrong tries. `invalid_code` when it was spent or replaced
 * meanwhile. Run in the transaction of what the code buys, a rollback leaves it unspent.
 */
export async function spendCode(
  deps: Pick<Deps, 'db'>,
  matched: MatchedCode,
  executor: Executor = deps.db,
): Promise<{ ok: true } | (Failure<'invalid_code'> & { reason: 'invalid_code' })> {
  const spent = executor.$with('spent').as(
    executor
      .delete(otpCodes)
      .where(and(eq(otpCodes.email, matched.email), eq(otpCodes.codeHash, matched.codeHash)))
      .returning({ email: otpCodes.email }),
  );
  // The same statement clears the email's budget, and only when the code was spent.
  const cleared = executor.$with('cleared').as(clearRateLimitQuery(executor, emailBudgetKey(matched.email), exists(executor.select().from(spent))));
  const [row] = await executor.with(spent, cleared).select().from(spent);
  if (!row) return { ...fail('invalid_code', INVALID), reason: 'invalid_code' };
  return { ok: true };
}
