import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../deps';
import {
  createAnonymousAccount,
  findIdentitiesByEmail,
  listIdentityDatabases,
  registerIdentityDatabase,
  removeIdentityDatabase,
  setUnverifiedEmail,
} from '../../domain/spacetime/accounts';
import { getSigningKey } from '../../domain/spacetime/keys';
import { mintWebsocketToken } from '../../domain/spacetime/tokens';
import { requireCaller } from '../auth';
import type { AppEnv } from '../env';
import { errorResponse, failure } from '../errors';
import { email } from '../schemas';
import { validate } from '../validate';

const hex = (lengths: string) => new RegExp(`^(?:${lengths})$`);

/** A SpacetimeDB identity in a path: 64 hex digits, either case, used lower-cased. */
export const identityParam = z.object({
  identity: z
    .string()
    .regex(hex('[0-9a-fA-F]{64}'), 'must be 64 hexadecimal characters')
    .transform((s) => s.toLowerCase()),
});

/** A database address: 32 or 64 hex digits, either case, used lower-cased. */
export const databaseParam = identityParam.extend({
  address: z
    .string()
    .regex(hex('[0-9a-fA-F]{32}|[0-9a-fA-F]{64}'), 'must be 32 or 64 hexadecimal characters')
    .transform((s) => s.toLowerCase()),
});

export const emailQuery = z.object({ email });
/** `?email=` absent or empty means no email. */
export const optionalEmailQuery = z.object({ email: z.preprocess((v) => (v === '' ? undefined : v), email.optional()) });

const OTHER_IDENTITY = 'The token belongs to another identity.';

/** `/:identity/…` routes, the same under `/v1/identity` and the legacy `/identity`. */
function identityMemberRoutes(deps: Deps) {
  const caller = requireCaller(deps);
  return new Hono<AppEnv>()
    .get('/:identity/verify', validate('param', identityParam), caller, (c) => {
      if (c.var.caller.user.identity !== c.req.valid('param').identity) return errorResponse(c, 'invalid_request', OTHER_IDENTITY);
      return c.body(null, 204);
    })
    .post('/:identity/set-email', validate('param', identityParam), caller, validate('query', emailQuery), async (c) => {
      const { identity } = c.req.valid('param');
      const { user } = c.var.caller;
      if (user.identity !== identity) return errorResponse(c, 'unauthorized', OTHER_IDENTITY);
      const { email } = c.req.valid('query');
      await setUnverifiedEmail(deps, user, email, c.var.meta);
      return c.json({ identity, email }, 200);
    })
    .get('/:identity/databases', validate('param', identityParam), async (c) => {
      return c.json({ addresses: await listIdentityDatabases(deps, c.req.valid('param').identity) }, 200);
    })
    .put('/:identity/databases/:address', validate('param', databaseParam), caller, async (c) => {
      const { identity, address } = c.req.valid('param');
      const { user } = c.var.caller;
      if (user.identity !== identity) return errorResponse(c, 'unauthorized', OTHER_IDENTITY);
      const result = await registerIdentityDatabase(deps, user.id, address);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    })
    .delete('/:identity/databases/:address', validate('param', databaseParam), caller, async (c) => {
      const { identity, address } = c.req.valid('param');
      const { user } = c.var.caller;
      if (user.identity !== identity) return errorResponse(c, 'unauthorized', OTHER_IDENTITY);
      await removeIdentityDatabase(deps, user.id, address);
      return c.body(null, 204);
    });
}

/** A 60-second token for one WebSocket connection, under either route name. */
function websocketToken(deps: Deps) {
  return async (c: Context<AppEnv>) => {
    const result = await mintWebsocketToken(deps, c.var.caller);
    if (!result.ok) return failure(c, result);
    return c.json({ token: result.token }, 200);
  };
}

/** `/v1/identity`: SpacetimeDB's current identity API. */
export function spacetimeIdentityRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const result = await createAnonymousAccount(deps, null, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: result.user.identity, token: result.token }, 200);
    })
    .post('/websocket-token', requireCaller(deps), websocketToken(deps))
    .get('/public-key', async (c) => {
      const key = await getSigningKey(deps);
      return c.body(key.publicPem, 200, { 'Content-Type': 'application/pem-certificate-chain' });
    })
    .route('/', identityMemberRoutes(deps));
}

/** `/identity`: the routes of SpacetimeDB before 1.0. */
export function legacyIdentityRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .post('/', validate('query', optionalEmailQuery), async (c) => {
      const result = await createAnonymousAccount(deps, c.req.valid('query').email ?? null, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: result.user.identity, token: result.token }, 200);
    })
    .get('/', validate('query', emailQuery), async (c) => {
      return c.json({ identities: await findIdentitiesByEmail(deps, c.req.valid('query').email) }, 200);
    })
    .post('/websocket_token', requireCaller(deps), websocketToken(deps))
    .route('/', identityMemberRoutes(deps));
}
