import type { Context, MiddlewareHandler } from 'hono';
import { auth as parseBasicAuth } from 'hono/utils/basic-auth';
import { parse as parseCookies } from 'hono/utils/cookie';
import type { Config } from '../config';
import type { Deps } from '../deps';
import { validateSessionToken, type ValidatedSession } from '../domain/sessions/sessions';
import { authenticateCaller } from '../domain/spacetime/tokens';
import { refreshSessionCookie, SESSION_COOKIE } from './cookies';
import type { AppEnv } from './env';
import { errorResponse } from './errors';

export interface Credential {
  token: string;
  via: 'header' | 'cookie';
}

/**
 * The caller's token: `Authorization: Bearer <t>`, `Authorization: Basic base64("token:"<t>)`,
 * or the `session` cookie. A present but malformed Authorization header is `malformed`; it never
 * falls back to the cookie.
 */
export function readCredential(c: Context): Credential | 'malformed' | null {
  const header = c.req.header('authorization');
  const credential = bearerOrCookie(header, () => c.req.header('cookie'));
  if (credential !== 'basic') return credential;
  const basic = parseBasicAuth(c.req.raw);
  if (!basic || basic.username !== 'token' || basic.password === '') return 'malformed';
  return { token: basic.password, via: 'header' };
}

/**
 * `readCredential` from the raw values of the Authorization and Cookie headers, for all but a
 * Basic header, which is left to the caller (`basic`). Also read by the Node listener's cached
 * answers (src/entry/node-cached-answers.ts), so both read a credential the same way.
 */
export function bearerOrCookie(authorization: string | undefined, cookie: () => string | undefined): Credential | 'malformed' | 'basic' | null {
  if (authorization !== undefined) {
    const match = /^(\w+) +(\S+)\s*$/.exec(authorization);
    if (!match) return 'malformed';
    const scheme = match[1]!.toLowerCase();
    if (scheme === 'bearer') return { token: match[2]!, via: 'header' };
    return scheme === 'basic' ? 'basic' : 'malformed';
  }
  const header = cookie();
  const token = header ? parseCookies(header, SESSION_COOKIE)[SESSION_COOKIE] : undefined;
  return token ? { token, via: 'cookie' } : null;
}

/**
 * The challenges a `401` answer carries from here on (`errorResponse` writes them): one per
 * scheme, all in the realm of `ISSUER`, which names this server whatever RP_NAME says.
 */
export function challengeWith(config: Pick<Config, 'issuer'>, schemes: readonly ('Bearer' | 'Basic')[]): MiddlewareHandler<AppEnv> {
  const realm = config.issuer.replace(/["\\]/g, '\\$&');
  const challenges = schemes.map((scheme) => `${scheme} realm="${realm}"`);
  return async (c, next) => {
    c.set('challenges', challenges);
    await next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF rule for cookie-authenticated state changes: the Origin must be an allowed one or the
 * server's own, which is the origin of `ISSUER`: the request's Host is the caller's to choose.
 * Browsers always send Origin on such requests; clients without it are not browsers and carry no
 * ambient cookie risk.
 */
export function isAllowedCookieRequest(c: Context, config: Pick<Config, 'origins' | 'issuer'>): boolean {
  if (SAFE_METHODS.has(c.req.method)) return true;
  const origin = c.req.header('origin');
  if (origin === undefined) return c.req.header('sec-fetch-site') !== 'cross-site';
  return config.origins.includes(origin) || origin === new URL(config.issuer).origin;
}

/**
 * The caller's credential, or the error response to send: `401` without a usable credential,
 * `403` for a cookie-authenticated state change from an Origin that is not allowed (CSRF).
 */
function checkedCredential(c: Context, config: Pick<Config, 'origins' | 'issuer'>): Credential | Response {
  const credential = readCredential(c);
  if (credential === null || credential === 'malformed') return errorResponse(c, 'unauthorized');
  if (credential.via === 'cookie' && !isAllowedCookieRequest(c, config)) {
    return errorResponse(c, 'forbidden', 'Cross-origin request with a session cookie from an origin that is not allowed.');
  }
  return credential;
}

/** The credentials a route takes: a session token only, or a session token or an identity token (JWT). */
export interface AuthOptions {
  accept: readonly ['session'] | readonly ['session', 'identity-token'];
}

type Accepted = AuthOptions['accept'][number];

/**
 * Requires a credential of a kind the route accepts (`401` otherwise, with the challenges of
 * `challengeWith`; `403` for a cookie-authenticated state change from an Origin that is not
 * allowed). Session-only routes get `{ session, user }` in `c.var.auth`; routes that also take an
 * identity token get the account, and the token's claims, in `c.var.caller`. When a session
 * check slid the expiry and the token came in the cookie, the answer re-sends the cookie with
 * the new expiry, so a browser in use keeps its session past the first 30 days.
 */
export function requireAuth(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'sessionCache' | 'hasher'>, options: AuthOptions): MiddlewareHandler<AppEnv> {
  const identityTokens = (options.accept as readonly Accepted[]).includes('identity-token');
  return async (c, next) => {
    const credential = checkedCredential(c, deps.config);
    if (credential instanceof Response) return credential;
    let session: ValidatedSession | null;
    if (identityTokens) {
      const authenticated = await authenticateCaller(deps, credential.token);
      if (!authenticated) return errorResponse(c, 'unauthorized');
      c.set('caller', authenticated.caller);
      session = authenticated.session;
    } else {
      session = await validateSessionToken(deps, credential.token);
      if (!session) return errorResponse(c, 'unauthorized');
      c.set('auth', session);
    }
    await next();
    if (session?.slid && credential.via === 'cookie') refreshSessionCookie(c, deps.config, credential.token, session.session.expiresAt);
  };
}
