import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config';

export const SESSION_COOKIE = 'session';

function secure(c: Context, config: Pick<Config, 'issuer'>): boolean {
  return config.issuer.startsWith('https:') || new URL(c.req.url).protocol === 'https:';
}

export function setSessionCookie(c: Context, config: Pick<Config, 'issuer'>, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: secure(c, config),
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context, config: Pick<Config, 'issuer'>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Lax', secure: secure(c, config) });
}
