import { and, desc, eq, gt } from 'drizzle-orm';
import type { Executor } from '../../db/database';
import { activity, sessions, users, type SessionRow, type UserRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { constantTimeEqual, newId, randomToken, sha256Hex } from '../crypto';
import { activityRow, recordActivity } from '../activity/record';
import { fail, type Result } from '../result';

export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Expiry slides at most this often, so most checks are one indexed read and no write. */
const SLIDE_EVERY_MS = 60 * 60 * 1000;
/** Registering or removing a passkey needs a session signed in this recently. */
export const FRESH_SESSION_MS = 10 * 60 * 1000;

export type SessionMethod = SessionRow['method'];

export interface SessionAuth {
  session: SessionRow;
  user: UserRow;
}

/**
 * Opens a session and returns its token `id.secret`; only SHA-256 of the secret is stored.
 * `userVerified`: a passkey sign-in whose authenticator verified the user (OIDC `amr` "mfa").
 */
export async function createSession(
  deps: Pick<Deps, 'db' | 'clock' | 'random' | 'hasher'>,
  user: UserRow,
  method: SessionMethod,
  meta: RequestMeta,
  executor: Executor = deps.db,
  details: { userVerified?: boolean } = {},
): Promise<{ token: string; session: SessionRow }> {
  const now = deps.clock.now();
  const id = newId(deps);
  const secret = randomToken(deps.random, 32);
  const secretHash = await sha256Hex(deps, secret);
  // The session and its `session_created` row in one statement.
  const created = executor.$with('created').as(
    executor
      .insert(sessions)
      .values({
        id,
        userId: user.id,
        secretHash,
        method,
        userVerified: details.userVerified ?? false,
        createdAt: now,
        lastActiveAt: now,
        expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
        ipAddress: meta.ipAddress,
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
      })
      .returning(),
  );
  const logged = executor
    .$with('logged')
    .as(executor.insert(activity).values(activityRow(deps, { userId: user.id, action: 'session_created', severity: 'info', meta, metadata: { method, sessionId: id } })));
  const [session] = await executor.with(created, logged).select().from(created);
  return { token: `${id}.${secret}`, session: session! };
}

export interface ValidatedSession extends SessionAuth {
  /** True when this check moved the expiry, so a cookie holding the token is due to be re-sent. */
  slid: boolean;
}

/**
 * The live session and account of a session token, sliding its expiry; null when invalid.
 * With a session cache, a recent read of the same session stands in for the database read; the
 * secret is checked against it all the same, and a session due to slide or expire is read anew.
 */
export async function validateSessionToken(deps: Pick<Deps, 'db' | 'clock' | 'sessionCache' | 'hasher'>, token: string): Promise<ValidatedSession | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const { id, secret } = parts;
  const cache = deps.sessionCache;

  const cached = cache?.get(id);
  if (cached) {
    if (!constantTimeEqual(await sha256Hex(deps, secret), cached.session.secretHash)) return null;
    if (answersAlone(deps.clock.now(), cached.session)) return { ...cached, slid: false };
  }

  const read = async () => (await deps.db.select({ session: sessions, user: users }).from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.id, id)))[0];
  // Concurrent misses on one session share one read; each stores it under the read's ticket.
  const { entry: row, ticket } = cache ? await cache.shareRead(id, read) : { entry: await read(), ticket: undefined };
  if (!row) return null;
  if (!constantTimeEqual(await sha256Hex(deps, secret), row.session.secretHash)) return null;

  const now = deps.clock.now();
  if (row.session.expiresAt <= now) {
    await deps.db.delete(sessions).where(eq(sessions.id, id));
    cache?.evictSession(id);
    return null;
  }
  if (isSlideDue(now, row.session)) {
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await deps.db.update(sessions).set({ lastActiveAt: now, expiresAt }).where(eq(sessions.id, id));
    const slid = { user: row.user, session: { ...row.session, lastActiveAt: now, expiresAt } };
    if (cache) cache.set(slid, ticket!);
    return { ...slid, slid: true };
  }
  if (cache) cache.set(row, ticket!);
  return { ...row, slid: false };
}

/**
 * The session and account of a token when the session cache answers for it alone: a cached,
 * live session not due to slide, whose secret matches. Null in every other case (no entry, a
 * suspended cache, a wrong secret, a hasher that only answers asynchronously, an expiry or a
 * slide to write), which `validateSessionToken` then decides. Changes nothing.
 */
export function peekCachedSession(deps: Pick<Deps, 'clock' | 'sessionCache' | 'hasher'>, token: string): SessionAuth | null {
  const parts = splitToken(token);
  const cached = parts && deps.sessionCache?.get(parts.id);
  if (!parts || !cached) return null;
  const digest = sha256Hex(deps, parts.secret);
  if (typeof digest !== 'string' || !constantTimeEqual(digest, cached.session.secretHash)) return null;
  return answersAlone(deps.clock.now(), cached.session) ? cached : null;
}

/** `id.secret`, or null when the token cannot be one. */
function splitToken(token: string): { id: string; secret: string } | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.') || token.length > 256) return null;
  return { id: token.slice(0, dot), secret: token.slice(dot + 1) };
}

/** A cached session is answered from the cache while it is live and not due to slide. */
function answersAlone(now: Date, session: SessionRow): boolean {
  return session.expiresAt > now && !isSlideDue(now, session);
}

function isSlideDue(now: Date, session: SessionRow): boolean {
  return now.getTime() - session.lastActiveAt.getTime() >= SLIDE_EVERY_MS;
}

/** The account's live sessions, newest first. */
export async function listSessions(deps: Pick<Deps, 'db' | 'clock'>, userId: string): Promise<SessionRow[]> {
  return deps.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, deps.clock.now())))
    .orderBy(desc(sessions.createdAt), desc(sessions.id));
}

/** Ends one of the user's sessions; `not_found` when it is not theirs. */
export async function revokeSession(
  deps: Pick<Deps, 'db' | 'clock' | 'sessionCache'>,
  userId: string,
  sessionId: string,
  meta: RequestMeta,
): Promise<Result<object, 'not_found'>> {
  const [revoked] = await deps.db
    .delete(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
    .returning({ id: sessions.id });
  if (!revoked) return fail('not_found', 'No such session.');
  // The notification of the delete reaches this process too, but maybe after its next request.
  deps.sessionCache?.evictSession(sessionId);
  await recordActivity(deps, { userId, action: 'session_revoked', severity: 'info', meta, metadata: { sessionId } });
  return { ok: true };
}

/** Ends every session of a user; returns how many there were. */
export async function revokeAllSessions(deps: Pick<Deps, 'db' | 'sessionCache'>, userId: string): Promise<number> {
  const revoked = await deps.db.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id });
  deps.sessionCache?.evictUser(userId);
  return revoked.length;
}

export function isFresh(deps: Pick<Deps, 'clock'>, session: SessionRow): boolean {
  return deps.clock.now().getTime() - session.createdAt.getTime() < FRESH_SESSION_MS;
}
