import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { listSigningKeys, retireSigningKey, rotateSigningKey } from '../../domain/keys/rotation';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json, noContent } from '../openapi-docs';
import { OneSigningKey, SigningKeyList } from '../openapi-schemas';
import { requirePermission } from '../permissions';
import { presentSigningKey } from '../present';
import { validate } from '../validate';

// Any string: an unknown kid is `404`; one holding a NUL character is `400` (validate()).
const kidParam = z.object({ kid: z.string() });

const forbidden = (permission: string) =>
  error(403, `forbidden: the session lacks the ${permission} permission, or a cookie-authenticated request came from an origin that is not allowed.`);

const docs = {
  list: describeRoute({
    operationId: 'listSigningKeys',
    summary: 'The signing keys: published, pending and retired (users:read)',
    description:
      'Every key of the set, oldest first. `signing` marks the one that signs new tokens now; a key whose `activatesAt` is still ahead is published in the JWKS but does not sign yet.',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: { 200: json('The keys.', SigningKeyList), ...errors(401, 503), 403: forbidden('users:read') },
  }),
  rotate: describeRoute({
    operationId: 'rotateSigningKey',
    summary: 'Add a new signing key, published now and signing after KEY_PUBLISH_DELAY (users:write)',
    description:
      'The new P-256 key is in the JWKS at once and signs from `activatesAt` on (`KEY_PUBLISH_DELAY` later, 10 minutes by default: SpacetimeDB refreshes a JWKS every 5 minutes). The previous keys keep verifying until retired.',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: { 201: json('The new key.', OneSigningKey), ...errors(401, 503), 403: forbidden('users:write') },
  }),
  retire: describeRoute({
    operationId: 'retireSigningKey',
    summary: 'Retire a signing key: the tokens it signed stop verifying (users:write)',
    description:
      'The key leaves the JWKS and every token it signed fails, the never-expiring `/v1/identity` tokens included. Other server processes notice within 30 seconds.',
    tags: ['admin'],
    security: AUTHENTICATED,
    responses: {
      204: noContent('Retired.'),
      400: error(400, 'key_in_use: the key signs tokens now (rotate first and wait until the new key signs); invalid_request: a malformed kid.'),
      ...errors(401, 503),
      403: forbidden('users:write'),
      404: error(404, 'not_found: no published key has this kid (unknown, or retired already).'),
    },
  }),
};

/**
 * `/admin/keys`: signing-key rotation. Mounted by `adminRoutes`, whose `requireAuth` has already
 * put the session in `c.var.auth`.
 */
export function adminKeyRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .get('/', docs.list, requirePermission(deps, 'users:read'), async (c) => {
      return c.json({ keys: (await listSigningKeys(deps)).map(presentSigningKey) }, 200);
    })
    .post('/rotate', docs.rotate, requirePermission(deps, 'users:write'), async (c) => {
      const result = await rotateSigningKey(deps, c.var.auth.user.id, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ key: presentSigningKey(result.key) }, 201);
    })
    .delete('/:kid', docs.retire, requirePermission(deps, 'users:write'), validate('param', kidParam), async (c) => {
      const result = await retireSigningKey(deps, c.var.auth.user.id, c.req.valid('param').kid, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    });
}
