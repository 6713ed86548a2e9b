import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { deleteUser, listUsers, revokeUserSessions } from '../../domain/admin/users';
import { requireAuth } from '../auth';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json, noContent } from '../openapi-docs';
import { adminKeyRoutes } from './admin-keys';
import { RevokedCount, UserPage } from '../openapi-schemas';
import { requirePermission } from '../permissions';
import { presentUser } from '../present';
import { pageLimit } from '../schemas';
import { validate } from '../validate';

export const userQuery = z.object({
  // Exact match on the verified email, trimmed and lower-cased; empty means no filter.
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(254)
    .transform((value) => value || undefined)
    .optional(),
  limit: pageLimit,
  before: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a user id')
    .transform((id) => id.toLowerCase())
    .optional(),
});

// An unknown or malformed user id is `404`; one holding a NUL character is `400` (validate()).
const userIdParam = z.object({ id: z.string() });

const docs = {
  listUsers: describeRoute({
    operationId: 'listUsers',
    summary: 'Users, newest first, optionally one by email (users:read)',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: {
      200: json('A page of users.', UserPage),
      ...errors(400, 401, 503),
      403: error(403, 'forbidden: the session lacks the users:read permission.'),
    },
  }),
  revokeSessions: describeRoute({
    operationId: 'revokeUserSessions',
    summary: "Revoke all of a user's sessions (users:write)",
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: {
      200: json('How many sessions were revoked.', RevokedCount),
      ...errors(400, 401, 503),
      403: error(403, 'forbidden: the session lacks the users:write permission, or a cookie-authenticated request came from an origin that is not allowed.'),
      404: error(404, 'not_found: no such user.'),
    },
  }),
  deleteUser: describeRoute({
    operationId: 'deleteUser',
    summary: "Delete a user's account and everything it owns (users:write)",
    description: 'As DELETE /auth/account does for the caller; logged as `account_deleted` on the admin’s activity.',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: {
      204: noContent('Deleted.'),
      ...errors(400, 401, 503),
      403: error(403, 'forbidden: the session lacks the users:write permission, or a cookie-authenticated request came from an origin that is not allowed.'),
      404: error(404, 'not_found: no such user.'),
    },
  }),
};

export function adminRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps, { accept: ['session'] }))
    .get('/users', docs.listUsers, requirePermission(deps, 'users:read'), validate('query', userQuery), async (c) => {
      const page = await listUsers(deps, c.req.valid('query'));
      return c.json({ users: page.users.map((user) => presentUser(deps.config, user)), next: page.next }, 200);
    })
    .post('/users/:id/revoke-sessions', docs.revokeSessions, requirePermission(deps, 'users:write'), validate('param', userIdParam), async (c) => {
      const result = await revokeUserSessions(deps, c.var.auth.user.id, c.req.valid('param').id, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ revoked: result.revoked }, 200);
    })
    .delete('/users/:id', docs.deleteUser, requirePermission(deps, 'users:write'), validate('param', userIdParam), async (c) => {
      const result = await deleteUser(deps, c.var.auth.user.id, c.req.valid('param').id, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    })
    // Behind the requireAuth above: mounted beside `/admin` in app.ts it would authenticate twice.
    .route('/keys', adminKeyRoutes(deps));
}
