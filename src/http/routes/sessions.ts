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
import { email } from '../schemas';
import { validate } from '../validate';

export const signInBody = z.object({
  method: z.enum(['otp', 'passkey']),
  email,
  token: z.string().trim().min(1).max(512),
});

export const sessionIdParam = z.object({ id: z.string().min(1).max(64) });

export function sessionRoutes(deps: Deps) {
  const auth = requireSession(deps);
  return new Hono<AppEnv>()
    .post('/', validate('json', signInBody), async (c) => {
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
    .get('/', auth, async (c) => {
      const { session } = c.var.auth;
      const sessions = await listSessions(deps, session.userId);
      return c.json({ sessions: sessions.map((s) => presentSession(s, session.id)) }, 200);
    })
    .delete('/', auth, async (c) => {
      await revokeSession(deps, c.var.auth.user.id, c.var.auth.session.id, c.var.meta);
      clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    })
    .get('/current', auth, (c) => {
      const { session, user } = c.var.auth;
      return c.json({ session: presentSession(session, session.id), user: presentUser(deps.config, user) }, 200);
    })
    .get('/current/permissions', auth, (c) => c.json({ permissions: sessionPermissions(deps, c.var.auth) }, 200))
    .delete('/:id', auth, validate('param', sessionIdParam), async (c) => {
      const { id } = c.req.valid('param');
      const result = await revokeSession(deps, c.var.auth.user.id, id, c.var.meta);
      if (!result.ok) return failure(c, result);
      if (id === c.var.auth.session.id) clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    });
}
