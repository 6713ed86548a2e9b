import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Transaction } from '../../db/database';
import {
  oauthCodes,
  oauthGrants,
  oauthRefreshTokens,
  profiles,
  sessions,
  users,
  type OAuthGrantRow,
  type SessionRow,
  type UserRow,
} from '../../db/schema';
import type { Deps } from '../../deps';
import { constantTimeEqual, newId, randomToken, sha256Hex } from '../crypto';
import { findVerificationKey, getSigningKey, SIGNING_ALG } from '../keys/keys';
import { SESSION_TTL_MS } from '../sessions/sessions';
import { computeIdentity } from '../spacetime/identity';
import { isJwtShaped } from '../spacetime/tokens';
import { PKCE_VALUE } from './authorize';
import type { Client } from './clients';
import { oauthFail, type OAuthResult } from './errors';

/** The JOSE `typ` of access tokens (RFC 9068); id tokens are plain `JWT`. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Access tokens live at most this long, whatever `ID_TOKEN_TTL` says. */
const MAX_ACCESS_TOKEN_TTL_S = 60 * 60;
/** A refresh counts as activity on its session at most this often, as a session check slides it. */
const SLIDE_EVERY_MS = 60 * 60 * 1000;
const MAX_TOKEN_LENGTH = 4096;

type TokenDeps = Pick<Deps, 'config' | 'db' | 'clock' | 'random' | 'hasher' | 'sessionCache'>;

/** The body of a successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3). */
export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  id_token: string;
  scope: string;
  refresh_token?: string;
}

/** The audience of access tokens: the userinfo endpoint, their only resource. */
export const userinfoAudience = (config: Pick<Deps['config'], 'issuer'>): string => `${config.issuer.replace(/\/+$/, '')}/oauth/userinfo`;

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);
const hasScope = (scope: string, name: string): boolean => scope.split(' ').includes(name);

interface GrantContext {
  grant: OAuthGrantRow;
  session: SessionRow;
  user: UserRow;
}

const INVALID_CODE = 'The authorization code is invalid, expired or already used, or was issued to another client or redirect URI.';

/**
 * Redeems an authorization code (`grant_type=authorization_code`). The code is consumed by one
 * `UPDATE … WHERE consumed_at IS NULL RETURNING` before anything else is checked, in the
 * transaction that creates the grant and names it on the code; a code presented again revokes
 * that grant (its refresh tokens cascade, its access tokens stop at userinfo).
 */
export async function exchangeAuthorizationCode(
  deps: TokenDeps,
  client: Client,
  input: { code: string; redirectUri: string; codeVerifier: string },
): Promise<OAuthResult<{ tokens: TokenSet }>> {
  if (!PKCE_VALUE.test(input.codeVerifier)) return oauthFail('invalid_request', 'code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~.');
  if (input.code.length > 256) return oauthFail('invalid_grant', INVALID_CODE);
  const codeHash = await sha256Hex(deps, input.code);
  const now = deps.clock.now();
  const challenge = encodeBase64urlNoPadding(sha256(new TextEncoder().encode(input.codeVerifier)));

  const outcome = await deps.db.transaction(async (tx): Promise<OAuthResult<GrantContext & { nonce: string | null; refreshToken: string | null }>> => {
    const [code] = await tx
      .update(oauthCodes)
      .set({ consumedAt: now })
      .where(and(eq(oauthCodes.codeHash, codeHash), isNull(oauthCodes.consumedAt)))
      .returning();
    if (!code) {
      const [used] = await tx.select({ grantId: oauthCodes.grantId }).from(oauthCodes).where(eq(oauthCodes.codeHash, codeHash));
      if (used?.grantId) await tx.delete(oauthGrants).where(eq(oauthGrants.id, used.grantId));
      return oauthFail('invalid_grant', INVALID_CODE);
    }
    if (code.expiresAt <= now || code.clientId !== client.id || code.redirectUri !== input.redirectUri) return oauthFail('invalid_grant', INVALID_CODE);
    if (!constantTimeEqual(challenge, code.codeChallenge)) return oauthFail('invalid_grant', 'The code_verifier does not match the code_challenge.');
    const signedIn = await liveSession(tx, code.sessionId, now);
    if (!signedIn) return oauthFail('invalid_grant', 'The session behind this code has ended.');

    const [grant] = await tx
      .insert(oauthGrants)
      .values({ id: newId(deps), clientId: client.id, userId: code.userId, sessionId: code.sessionId, scope: code.scope, createdAt: now })
      .returning();
    await tx.update(oauthCodes).set({ grantId: grant!.id }).where(eq(oauthCodes.codeHash, codeHash));
    const refreshToken = hasScope(code.scope, 'offline_access') ? await storeRefreshToken(deps, tx, grant!.id, now) : null;
    return { ok: true, grant: grant!, ...signedIn, nonce: code.nonce, refreshToken };
  });
  if (!outcome.ok) return outcome;
  return { ok: true, tokens: await tokenSet(deps, outcome, outcome.nonce, outcome.refreshToken) };
}

/**
 * Rotates a refresh token (`grant_type=refresh_token`): in one transaction the presented token is
 * marked rotated (`UPDATE … WHERE rotated_at IS NULL RETURNING`) and its successor stored. A
 * token that was already rotated revokes its whole family (the grant). The grant's session must
 * still be live; the refresh counts as activity on it (its expiry slides as a session check
 * slides it).
 */
export async function refreshGrant(deps: TokenDeps, client: Client, refreshToken: string): Promise<OAuthResult<{ tokens: TokenSet }>> {
  const invalid = oauthFail('invalid_grant', 'The refresh token is invalid, expired, revoked or already used.');
  if (refreshToken.length > 256) return invalid;
  const tokenHash = await sha256Hex(deps, refreshToken);
  const now = deps.clock.now();

  const outcome = await deps.db.transaction(async (tx): Promise<OAuthResult<GrantContext & { refreshToken: string; slid: boolean }>> => {
    const clientGrants = tx.select({ id: oauthGrants.id }).from(oauthGrants).where(eq(oauthGrants.clientId, client.id));
    const [current] = await tx
      .update(oauthRefreshTokens)
      .set({ rotatedAt: now })
      .where(and(eq(oauthRefreshTokens.tokenHash, tokenHash), isNull(oauthRefreshTokens.rotatedAt), inArray(oauthRefreshTokens.grantId, clientGrants)))
      .returning({ grantId: oauthRefreshTokens.grantId });
    if (!current) {
      const [known] = await tx
        .select({ grantId: oauthRefreshTokens.grantId, rotatedAt: oauthRefreshTokens.rotatedAt })
        .from(oauthRefreshTokens)
        .where(eq(oauthRefreshTokens.tokenHash, tokenHash));
      // A rotated token presented again: whoever holds the family's current token may be a thief.
      if (known?.rotatedAt) await tx.delete(oauthGrants).where(eq(oauthGrants.id, known.grantId));
      return invalid;
    }
    const [grant] = await tx.select().from(oauthGrants).where(eq(oauthGrants.id, current.grantId));
    const signedIn = grant && (await liveSession(tx, grant.sessionId, now));
    if (!grant || !signedIn) {
      if (grant) await tx.delete(oauthGrants).where(eq(oauthGrants.id, grant.id));
      return invalid;
    }
    let session = signedIn.session;
    const slid = now.getTime() - session.lastActiveAt.getTime() >= SLIDE_EVERY_MS;
    if (slid) {
      const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
      await tx.update(sessions).set({ lastActiveAt: now, expiresAt }).where(eq(sessions.id, session.id));
      session = { ...session, lastActiveAt: now, expiresAt };
    }
    return { ok: true, grant, user: signedIn.user, session, refreshToken: await storeRefreshToken(deps, tx, grant.id, now), slid };
  });
  if (!outcome.ok) return outcome;
  if (outcome.slid) deps.sessionCache?.evictSession(outcome.session.id);
  return { ok: true, tokens: await tokenSet(deps, outcome, null, outcome.refreshToken) };
}

/**
 * Revokes what a token grants (RFC 7009): a refresh token or an access token of this client ends
 * its grant, the whole family. Anything else — unknown, expired, another client's — is ignored,
 * as the RFC asks, so the caller learns nothing.
 */
export async function revokeToken(deps: TokenDeps, client: Client, token: string): Promise<void> {
  if (token.length > MAX_TOKEN_LENGTH) return;
  let grantId: string | null = null;
  if (isJwtShaped(token)) {
    const claims = await verifyAccessTokenClaims(deps, token);
    grantId = claims && claims.client_id === client.id ? claims.gid : null;
  } else {
    const [row] = await deps.db
      .select({ grantId: oauthRefreshTokens.grantId })
      .from(oauthRefreshTokens)
      .innerJoin(oauthGrants, eq(oauthGrants.id, oauthRefreshTokens.grantId))
      .where(and(eq(oauthRefreshTokens.tokenHash, await sha256Hex(deps, token)), eq(oauthGrants.clientId, client.id)));
    grantId = row?.grantId ?? null;
  }
  if (grantId) await deps.db.delete(oauthGrants).where(and(eq(oauthGrants.id, grantId), eq(oauthGrants.clientId, client.id)));
}

/** The claims of an access token this server signed (RFC 9068), `gid` naming its grant. */
interface AccessTokenClaims extends JWTPayload {
  sub: string;
  client_id: string;
  scope: string;
  sid: string;
  gid: string;
}

async function verifyAccessTokenClaims(deps: Pick<Deps, 'config' | 'db' | 'clock'>, token: string): Promise<AccessTokenClaims | null> {
  if (token.length > MAX_TOKEN_LENGTH || !isJwtShaped(token)) return null;
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = await findVerificationKey(deps, header.kid);
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      { algorithms: [SIGNING_ALG], typ: ACCESS_TOKEN_TYP, issuer: deps.config.issuer, audience: userinfoAudience(deps.config), currentDate: deps.clock.now() },
    );
    const { sub, client_id: clientId, scope, sid, gid } = payload;
    if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof scope !== 'string' || typeof sid !== 'string' || typeof gid !== 'string') return null;
    return payload as AccessTokenClaims;
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
    throw error;
  }
}

/** The claims `/oauth/userinfo` answers with. */
export interface UserinfoClaims {
  sub: string;
  hex_identity: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  picture?: string;
}

/**
 * The userinfo of an access token, or null when the token is bad, expired, or its grant or
 * session is gone (signed out, revoked, client deleted, code reused).
 */
export async function userinfo(deps: Pick<Deps, 'config' | 'db' | 'clock'>, token: string): Promise<UserinfoClaims | null> {
  const claims = await verifyAccessTokenClaims(deps, token);
  if (!claims) return null;
  const [row] = await deps.db
    .select({ grant: oauthGrants, session: sessions, user: users })
    .from(oauthGrants)
    .innerJoin(sessions, eq(sessions.id, oauthGrants.sessionId))
    .innerJoin(users, eq(users.id, oauthGrants.userId))
    .where(eq(oauthGrants.id, claims.gid));
  if (!row || row.session.expiresAt <= deps.clock.now() || row.user.id !== claims.sub || row.session.id !== claims.sid) return null;
  return { sub: row.user.id, ...(await profileClaims(deps, row.user, row.grant.scope)) };
}

async function liveSession(tx: Transaction, sessionId: string, now: Date): Promise<{ session: SessionRow; user: UserRow } | null> {
  const [row] = await tx.select({ session: sessions, user: users }).from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.id, sessionId));
  return row && row.session.expiresAt > now ? row : null;
}

async function storeRefreshToken(deps: Pick<Deps, 'random' | 'hasher'>, tx: Transaction, grantId: string, now: Date): Promise<string> {
  const token = randomToken(deps.random, 32);
  await tx.insert(oauthRefreshTokens).values({ tokenHash: await sha256Hex(deps, token), grantId, createdAt: now });
  return token;
}

/** `amr` (RFC 8176): `otp` for an emailed code, `pop` for a passkey, with `mfa` when it verified the user. */
function amrOf(session: SessionRow): string[] {
  if (session.method === 'otp') return ['otp'];
  return session.userVerified ? ['pop', 'mfa'] : ['pop'];
}

/** `hex_identity`, and what the scopes ask of the account and its primary profile. */
async function profileClaims(deps: Pick<Deps, 'config' | 'db'>, user: UserRow, scope: string): Promise<Omit<UserinfoClaims, 'sub'>> {
  // The stored identity was derived from ISSUER at creation; a token SpacetimeDB would read differently is a bug, not a token.
  if (computeIdentity(deps.config.issuer, user.id) !== user.identity) {
    throw new Error(`account ${user.id} was created under another ISSUER; its identity no longer matches (iss, sub)`);
  }
  const claims: Omit<UserinfoClaims, 'sub'> = { hex_identity: user.identity };
  if (hasScope(scope, 'email') && user.email !== null) {
    claims.email = user.email;
    claims.email_verified = true;
  }
  if (hasScope(scope, 'profile')) {
    const [profile] = await deps.db
      .select()
      .from(profiles)
      .where(and(eq(profiles.userId, user.id), eq(profiles.isPrimary, true)));
    if (profile) {
      claims.name = profile.displayName;
      claims.preferred_username = profile.handle;
      if (profile.avatarUrl) claims.picture = profile.avatarUrl;
    }
  }
  return claims;
}

async function tokenSet(deps: TokenDeps, context: GrantContext, nonce: string | null, refreshToken: string | null): Promise<TokenSet> {
  const { grant, session, user } = context;
  const key = await getSigningKey(deps);
  const iat = seconds(deps.clock.now());
  const idTtl = deps.config.idTokenTtlSeconds;
  const accessTtl = Math.min(idTtl, MAX_ACCESS_TOKEN_TTL_S);
  const iss = deps.config.issuer;

  const idToken = await new SignJWT({
    iss,
    sub: user.id,
    aud: grant.clientId,
    iat,
    exp: iat + idTtl,
    auth_time: seconds(session.createdAt),
    ...(nonce !== null && { nonce }),
    sid: session.id,
    amr: amrOf(session),
    ...(await profileClaims(deps, user, grant.scope)),
  })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: 'JWT', kid: key.kid })
    .sign(key.privateKey);

  const accessToken = await new SignJWT({
    iss,
    sub: user.id,
    aud: userinfoAudience(deps.config),
    client_id: grant.clientId,
    scope: grant.scope,
    sid: session.id,
    gid: grant.id,
    jti: randomToken(deps.random, 16),
    iat,
    exp: iat + accessTtl,
  })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid: key.kid })
    .sign(key.privateKey);

  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: accessTtl,
    id_token: idToken,
    scope: grant.scope,
    ...(refreshToken !== null && { refresh_token: refreshToken }),
  };
}

