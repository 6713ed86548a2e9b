import { Hono, type TypedResponse } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { sessionPermissions } from '../../domain/sessions/permissions';
import { listSessions, revokeSession } from '../../domain/sessions/sessions';
import { signIn } from '../../domain/sign-in/sign-in';
import { requireAuth } from '../auth';
import { clearSessionCookie, setSessionCookie } from '../cookies';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json, noContent, PUBLIC } from '../openapi-docs';
import { CurrentSession, PermissionList, SessionList, SignedIn } from '../openapi-schemas';
import { currentSessionBody, presentSession, presentUser, type CurrentSessionJson } from '../present';
import { email } from '../schemas';
import { validate } from '../validate';

export const signInBody = z.object({
  method: z.enum(['otp', 'passkey']),
  email,
  token: z.string().trim().min(1).max(512),
});

export const sessionIdParam = z.object({ id: z.string().min(1).max(64) });

const SET_COOKIE = { 'Set-Cookie': { description: 'The `session` cookie (HttpOnly, SameSite=Lax).', schema: { type: 'string' } } } as const;

const docs = {
  signIn: describeRoute({
    operationId: 'signIn',
    summary: 'Sign in with an emailed code or a passkey sign-in token',
    tags: ['sessions'],
    security: PUBLIC,
    responses: {
      201: { ...json('Signed in; sets the session cookie.', SignedIn), headers: SET_COOKIE },
      ...errors(400, 413, 503),
      401: error(401, 'invalid_code: a wrong, expired, used or burned code or token.'),
      429: error(429, 'rate_limited: too many wrong tries for this email, or too many failed sign-ins from this client address.'),
    },
  }),
  list: describeRoute({
    operationId: 'listSessions',
    summary: "The caller's live sessions, newest first",
    tags: ['sessions'],
    security: AUTHENTICATED,
    responses: { 200: json('The sessions.', SessionList), ...errors(401, 503) },
  }),
  signOut: describeRoute({
    operationId: 'signOut',
    summary: 'Sign the current session out and clear the cookie',
    tags: ['sessions'],
    security: AUTHENTICATED,
    responses: { 204: noContent('Signed out.'), ...errors(401, 403, 503) },
  }),
  current: describeRoute({
    operationId: 'getCurrentSession',
    summary: 'The current session and its user',
    tags: ['sessions'],
    security: AUTHENTICATED,
    responses: { 200: json('The session and its user.', CurrentSession), ...errors(401, 503) },
  }),
  permissions: describeRoute({
    operationId: 'getSessionPermissions',
    summary: 'What the current session may do',
    tags: ['sessions'],
    security: AUTHENTICATED,
    responses: { 200: json('The permissions.', PermissionList), ...errors(401, 503) },
  }),
  revoke: describeRoute({
    operationId: 'revokeSession',
    summary: "Revoke one of the caller's sessions",
    tags: ['sessions'],
    security: AUTHENTICATED,
    responses: {
      204: noContent('Revoked.'),
      ...errors(400, 401, 403, 503),
      404: error(404, "not_found: not one of the caller's sessions."),
    },
  }),
};

export function sessionRoutes(deps: Deps) {
  const auth = requireAuth(deps, { accept: ['session'] });
  return new Hono<AppEnv>()
    .post('/', docs.signIn, validate('json', signInBody), async (c) => {
      const result = await signIn(deps, c.req.valid('json'), c.var.meta);
      if (!result.ok) return failure(c, result);
      setSessionCookie(c, deps.config, result.token, result.session.expiresAt);
      return c.json(
        {
          token: result.token,
          session: presentSession(result.session, result.session.id),
          user: presentUser(deps.config, result.user),
        },
        201,
      );
    })
    .get('/', docs.list, auth, async (c) => {
      const { session } = c.var.auth;
      const sessions = await listSessions(deps, session.userId);
      return c.json({ sessions: sessions.map((s) => presentSession(s, session.id)) }, 200);
    })
    .delete('/', docs.signOut, auth, async (c) => {
      await revokeSession(deps, c.var.auth.user.id, c.var.auth.session.id, c.var.meta);
      clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    })
    .get('/current', docs.current, auth, (c) => {
      const { session, user } = c.get('auth');
      // What c.json would answer, from text serialized once per session row (the hot path of every client).
      return c.body(currentSessionBody(deps.config, session, user), 200, { 'Content-Type': 'application/json' }) as unknown as Response & TypedResponse<CurrentSessionJson, 200, 'json'>;
    })
    .get('/current/permissions', docs.permissions, auth, (c) => c.json({ permissions: sessionPermissions(deps, c.var.auth) }, 200))
    .delete('/:id', docs.revoke, auth, validate('param', sessionIdParam), async (c) => {
      const { id } = c.req.valid('param');
      const result = await revokeSession(deps, c.var.auth.user.id, id, c.var.meta);
      if (!result.ok) return failure(c, result);
      if (id === c.var.auth.session.id) clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    });
}
