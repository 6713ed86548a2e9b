import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config';

export const SESSION_COOKIE = 'session';

type CookieConfig = Pick<Config, 'issuer' | 'origins'>;

/**
 * Secure when the origin is https: the calling page's (an allowed Origin header) or the server's
 * own (ISSUER, or the URL it was reached at). Behind a TLS proxy that forwards plain http, the
 * page's https Origin is what says so even when ISSUER was left at its default.
 */
function secure(c: Context, config: CookieConfig): boolean {
  const origin = c.req.header('origin');
  const httpsPage = origin !== undefined && origin.startsWith('https:') && config.origins.includes(origin);
  return httpsPage || config.issuer.startsWith('https:') || new URL(c.req.url).protocol === 'https:';
}

export function setSessionCookie(c: Context, config: CookieConfig, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: secure(c, config),
    expires: expiresAt,
  });
}

/**
 * Re-sends the session cookie with the session's new expiry, unless the answer already sets the
 * cookie itself (a sign-out clears it).
 */
export function refreshSessionCookie(c: Context, config: CookieConfig, token: string, expiresAt: Date): void {
  if (c.res.headers.getSetCookie().some((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`))) return;
  setSessionCookie(c, config, token, expiresAt);
}

export function clearSessionCookie(c: Context, config: CookieConfig): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Lax', secure: secure(c, config) });
}
