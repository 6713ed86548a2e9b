import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { listUsers, revokeUserSessions } from '../../domain/admin/users';
import { createClient, deleteClient, listClients } from '../../domain/oidc/clients';
import { isAllowedRedirectUri } from '../../config';
import { requireAuth } from '../auth';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json, noContent } from '../openapi-docs';
import { OAuthClientCreated, OAuthClientList, RevokedCount, UserPage } from '../openapi-schemas';
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

const redirectUri = z
  .string()
  .max(2048)
  .refine(isAllowedRedirectUri, 'must be an https: URL, or http: on localhost, 127.0.0.1 or [::1], without a fragment');

export const clientBody = z.object({
  name: z.string().trim().min(1).max(100),
  redirectUris: z.array(redirectUri).min(1).max(20),
  postLogoutRedirectUris: z.array(redirectUri).max(20).default([]),
  type: z.enum(['public', 'confidential']),
});

const clientIdParam = z.object({ id: z.string().max(128) });

const USERS_WRITE = error(403, 'forbidden: the session lacks the users:write permission, or a cookie-authenticated request came from an origin that is not allowed.');

const docs = {
  listClients: describeRoute({
    operationId: 'listClients',
    summary: 'The OpenID Connect clients, configured and registered; never a secret (users:write)',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: { 200: json('The clients.', OAuthClientList), ...errors(401, 503), 403: USERS_WRITE },
  }),
  createClient: describeRoute({
    operationId: 'createClient',
    summary: 'Register an OpenID Connect client; a confidential one’s secret is shown this once (users:write)',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: { 201: json('Registered.', OAuthClientCreated), ...errors(400, 401, 413, 503), 403: USERS_WRITE },
  }),
  deleteClient: describeRoute({
    operationId: 'deleteClient',
    summary: 'Delete a registered client, its grants and refresh tokens (users:write)',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: {
      204: noContent('Deleted; its refresh and access tokens stop working.'),
      ...errors(401, 503),
      400: error(400, 'invalid_request: the client is configured in OIDC_CLIENTS.'),
      403: USERS_WRITE,
      404: error(404, 'not_found: no such client.'),
    },
  }),
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
    .get('/clients', docs.listClients, requirePermission(deps, 'users:write'), async (c) => {
      return c.json({ clients: await listClients(deps) }, 200);
    })
    .post('/clients', docs.createClient, requirePermission(deps, 'users:write'), validate('json', clientBody), async (c) => {
      const { client, secret } = await createClient(deps, c.req.valid('json'));
      return c.json(secret === null ? { client } : { client, secret }, 201);
    })
    .delete('/clients/:id', docs.deleteClient, requirePermission(deps, 'users:write'), validate('param', clientIdParam), async (c) => {
      const result = await deleteClient(deps, c.req.valid('param').id);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    });
}
