import { eq } from 'drizzle-orm';
import { base64url, errors, jwtVerify, type JWTPayload } from 'jose';
import { oauthClients, users, type UserRow } from '../../db/schema';
import type { Deps } from '../../deps';
import { fail, type Result } from '../result';
import { validateSessionToken, type ValidatedSession } from '../sessions/sessions';
import { computeIdentity } from './identity';
import { findVerificationKey, getSigningKey, SIGNING_ALG } from '../keys/keys';
import { webSigner } from '../../ports/signer';

/** How long a token from `websocket-token` lives. */
export const WEBSOCKET_TOKEN_TTL_S = 60;
/**
 * `token_use` of a token minted by `websocket-token`. A token that carries any `token_use` is a
 * short-lived token derived from another credential and never mints another one; the long-lived
 * identity tokens of `POST /v1/identity` carry none, as SpacetimeDB mints them.
 */
export const WEBSOCKET_TOKEN_USE = 'websocket';
/** Far above any token this server mints; longer input is refused before parsing. */
const MAX_TOKEN_LENGTH = 4096;
/** SpacetimeDB's bound on `iss` and `sub`. */
const MAX_CLAIM_BYTES = 128;

/** The claims of an identity token, as SpacetimeDB reads them. */
export interface IdentityClaims extends JWTPayload {
  hex_identity: string;
  sub: string;
  iss: string;
  /** `TOKEN_AUDIENCE` on identity tokens; an OpenID Connect id token names its client, a string. */
  aud: string[] | string;
  iat: number;
  exp?: number;
  /** Set on short-lived tokens derived from another credential (`websocket`); absent on long-lived identity tokens. */
  token_use?: string;
}

/** Who called an identity route: the account, and the claims of its identity token when it used one. */
export interface Caller {
  user: UserRow;
  /** Null when the caller authenticated with a session token. */
  claims: IdentityClaims | null;
}

type TokenDeps = Pick<Deps, 'config' | 'db' | 'clock' | 'signer'>;

const encoder = new TextEncoder();
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** Account rows (as read, and shared by the session cache's hits) whose identity was checked, and the issuer it was checked against. */
const checkedIdentities = new WeakMap<Pick<UserRow, 'id' | 'identity'>, string>();

/** The long-lived claims of an account: `sub` is its id, `hex_identity` its SpacetimeDB identity. */
export function identityClaims(deps: Pick<Deps, 'config' | 'clock'>, user: Pick<UserRow, 'id' | 'identity'>): IdentityClaims {
  const iss = deps.config.issuer;
  // The stored identity was derived from ISSUER at creation; a token SpacetimeDB would read differently is a bug, not a token.
  if (checkedIdentities.get(user) !== iss) {
    if (computeIdentity(iss, user.id) !== user.identity) {
      throw new Error(`account ${user.id} was created under another ISSUER; its identity no longer matches (iss, sub)`);
    }
    checkedIdentities.set(user, iss);
  }
  return { hex_identity: user.identity, sub: user.id, iss, aud: deps.config.tokenAudience, iat: seconds(deps.clock.now()) };
}

/** The encoded protected header of each key id: the same in every token that key signs. */
const encodedHeaders = new Map<string, string>();

/**
 * The claims as a JWT: a JWS in compact serialization (RFC 7515, section 7.1), ES256 under the
 * current key, as jose's `SignJWT` writes it, with the header encoded once per key and the rest
 * made by the signer (WebCrypto, or node:crypto on the thread pool on Node; its synchronous
 * signing measured slower: the event loop is the bottleneck).
 */
async function sign(deps: TokenDeps, claims: JWTPayload): Promise<string> {
  const key = await getSigningKey(deps);
  let header = encodedHeaders.get(key.kid);
  if (header === undefined) encodedHeaders.set(key.kid, (header = base64url.encode(JSON.stringify({ alg: SIGNING_ALG, typ: 'JWT', kid: key.kid }))));
  return (deps.signer ?? webSigner).es256Jws(key.privateKey, header, JSON.stringify(claims));
}

/** A long-lived identity token for the account (no `exp`, as SpacetimeDB mints them). */
export function mintIdentityToken(deps: TokenDeps, user: Pick<UserRow, 'id' | 'identity'>): Promise<string> {
  return sign(deps, identityClaims(deps, user));
}

/**
 * True when the caller's credential may mint a websocket token: a session token (revocable, so
 * the tokens it mints stop when it is revoked), or a long-lived identity token made for
 * `TOKEN_AUDIENCE`. A token with a `token_use` (one this route minted) or made for another
 * audience (an OpenID Connect id token names its client) is short-lived and never renews itself.
 */
export function canMintWebsocketToken(deps: Pick<Deps, 'config'>, caller: Caller): boolean {
  if (!caller.claims) return true;
  return caller.claims.token_use === undefined && holdsAudience(caller.claims.aud, deps.config.tokenAudience);
}

/**
 * The caller's claims re-signed with `iat` = now, `exp` = now + 60 s and `token_use: "websocket"`,
 * for one WebSocket connection; `unauthorized` for a credential that may not mint (see
 * `canMintWebsocketToken`).
 */
export async function mintWebsocketToken(deps: TokenDeps, caller: Caller): Promise<Result<{ token: string }, 'unauthorized'>> {
  if (!canMintWebsocketToken(deps, caller)) {
    return fail('unauthorized', 'A short-lived token cannot mint another one; use the long-lived identity token or a session token.');
  }
  const iat = seconds(deps.clock.now());
  const claims = caller.claims ?? identityClaims(deps, caller.user);
  return { ok: true, token: await sign(deps, { ...claims, iat, exp: iat + WEBSOCKET_TOKEN_TTL_S, token_use: WEBSOCKET_TOKEN_USE }) };
}

/**
 * An OpenID Connect id token names its client, a single string, in `aud`; the client must still
 * be registered (configured, or in `oauth_clients`). Read here rather than through the oidc
 * module, which depends on this one.
 */
async function isClientAudience(deps: Pick<Deps, 'config' | 'db'>, aud: unknown): Promise<boolean> {
  if (typeof aud !== 'string' || aud.length === 0 || aud.length > 128) return false;
  if (deps.config.oidcClients.some((client) => client.id === aud)) return true;
  const [row] = await deps.db.select({ id: oauthClients.id }).from(oauthClients).where(eq(oauthClients.id, aud));
  return row !== undefined;
}

function holdsAudience(aud: unknown, accepted: string[]): boolean {
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  return audiences.some((a) => accepted.includes(a));
}

/** Three base64url parts: a JWT; anything else is taken for a session token. */
export function isJwtShaped(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/**
 * The account and claims of an identity token signed by this server, or null. Accepts only
 * ES256 under a published key's `kid` and this `ISSUER`, an `aud` holding one of
 * `TOKEN_AUDIENCE` or naming a registered OpenID Connect client (an id token; an access token,
 * `typ: at+jwt`, is refused), unexpired as of `deps.clock`, whose
 * `hex_identity` is SpacetimeDB's identity of (`iss`, `sub`) and belongs to a live account.
 */
export async function verifyIdentityToken(deps: TokenDeps, token: string): Promise<{ user: UserRow; claims: IdentityClaims } | null> {
  if (token.length > MAX_TOKEN_LENGTH || !isJwtShaped(token)) return null;
  let payload: JWTPayload;
  try {
    let typ: string | undefined;
    ({ payload } = await jwtVerify(
      token,
      async (header) => {
        typ = header.typ;
        const key = await findVerificationKey(deps, header.kid);
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      { algorithms: [SIGNING_ALG], issuer: deps.config.issuer, currentDate: deps.clock.now() },
    ));
    // An OpenID Connect access token (RFC 9068) is for /oauth/userinfo only.
    if (typ?.toLowerCase() === 'at+jwt' || typ?.toLowerCase() === 'application/at+jwt') return null;
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
    throw error;
  }
  if (!holdsAudience(payload.aud, deps.config.tokenAudience) && !(await isClientAudience(deps, payload.aud))) return null;

  const { sub, iss, hex_identity: hexIdentity, iat } = payload;
  if (typeof sub !== 'string' || typeof iss !== 'string' || typeof hexIdentity !== 'string') return null;
  if (!boundedClaim(sub) || !boundedClaim(iss) || !Number.isInteger(iat)) return null;
  if (computeIdentity(iss, sub) !== hexIdentity) return null;

  const [user] = await deps.db.select().from(users).where(eq(users.id, sub));
  if (!user || user.identity !== hexIdentity) return null;
  return { user, claims: payload as IdentityClaims };
}

function boundedClaim(value: string): boolean {
  return value.length > 0 && encoder.encode(value).length <= MAX_CLAIM_BYTES;
}

/** An authenticated caller, and the session behind a session token (null for an identity token). */
export interface AuthenticatedCaller {
  caller: Caller;
  /** Its `slid` says that this check moved the session's expiry, so a cookie holding the token is due to be re-sent. */
  session: ValidatedSession | null;
}

/**
 * The caller behind a token that is either an identity token (JWT) or a session token; null
 * when it is neither valid one.
 */
export async function authenticateCaller(deps: TokenDeps, token: string): Promise<AuthenticatedCaller | null> {
  if (isJwtShaped(token)) {
    const verified = await verifyIdentityToken(deps, token);
    return verified && { caller: verified, session: null };
  }
  const session = await validateSessionToken(deps, token);
  return session && { caller: { user: session.user, claims: null }, session };
}
