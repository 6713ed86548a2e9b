import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { sessionPermissions } from '../../domain/sessions/permissions';
import { listSessions, revokeSession } from '../../domain/sessions/sessions';
import { signIn } from '../../domain/sessions/sign-in';
import { requireSession } from '../auth';
import { clearSessionCookie, setSessionCookie } from '../cookies';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { presentSession, presentUser } from '../present';
import { describe } from '../route-docs';
import { email } from '../schemas';
import { validate } from '../validate';

export const signInBody = z.object({
  method: z.enum(['otp', 'passkey']),
  email,
  token: z.string().trim().min(1).max(512),
});

export const sessionIdParam = z.object({ id: z.string().min(1).max(64) });

const docs = {
  signIn: {
    summary: 'Sign in with an emailed code or a passkey sign-in token',
    responses: {
      201: '{ token, session, user }; sets the session cookie.',
      401: 'invalid_code: a wrong, expired, used or burned code or token.',
      429: 'rate_limited: too many wrong tries for this email, or too many failed sign-ins from this client address.',
    },
  },
  list: { summary: "The caller's live sessions, newest first", responses: { 200: '{ sessions: Session[] }' } },
  signOut: { summary: 'Sign the current session out and clear the cookie', responses: { 204: 'Signed out.' } },
  current: { summary: 'The current session and its user', responses: { 200: '{ session: Session, user: User }' } },
  permissions: { summary: 'What the current session may do', responses: { 200: '{ permissions: string[] }' } },
  revoke: {
    summary: "Revoke one of the caller's sessions",
    responses: { 204: 'Revoked.', 404: "not_found: not one of the caller's sessions." },
  },
} satisfies Record<string, Parameters<typeof describe>[0]>;

export function sessionRoutes(deps: Deps) {
  const auth = requireSession(deps);
  return new Hono<AppEnv>()
    .post('/', describe(docs.signIn), validate('json', signInBody), async (c) => {
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
    .get('/', describe(docs.list), auth, async (c) => {
      const { session } = c.var.auth;
      const sessions = await listSessions(deps, session.userId);
      return c.json({ sessions: sessions.map((s) => presentSession(s, session.id)) }, 200);
    })
    .delete('/', describe(docs.signOut), auth, async (c) => {
      await revokeSession(deps, c.var.auth.user.id, c.var.auth.session.id, c.var.meta);
      clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    })
    .get('/current', describe(docs.current), auth, (c) => {
      const { session, user } = c.var.auth;
      return c.json({ session: presentSession(session, session.id), user: presentUser(deps.config, user) }, 200);
    })
    .get('/current/permissions', describe(docs.permissions), auth, (c) => c.json({ permissions: sessionPermissions(deps, c.var.auth) }, 200))
    .delete('/:id', describe(docs.revoke), auth, validate('param', sessionIdParam), async (c) => {
      const { id } = c.req.valid('param');
      const result = await revokeSession(deps, c.var.auth.user.id, id, c.var.meta);
      if (!result.ok) return failure(c, result);
      if (id === c.var.auth.session.id) clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    });
}
