import { Hono, type Context } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { createAnonymousAccount, findIdentitiesByEmail, setUnverifiedEmail } from '../../domain/accounts/anonymous';
import { listIdentityDatabases, registerIdentityDatabase, removeIdentityDatabase } from '../../domain/spacetime/databases';
import { getSigningKey } from '../../domain/keys/keys';
import { verifyOwnIdentity } from '../../domain/spacetime/ownership';
import { mintWebsocketToken } from '../../domain/spacetime/tokens';
import { requireAuth } from '../auth';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, body, error, errors, identityOperationId, json, noContent, PUBLIC } from '../openapi-docs';
import { DatabaseList, EmailSet, IdentitiesByEmail, IdentityToken, WebsocketToken } from '../openapi-schemas';
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

const NOT_THAT_IDENTITY = error(401, 'unauthorized: no valid token, or the token of another identity.');
const ADDRESS_TAKEN = error(
  403,
  'forbidden: the address is registered to another identity, or a cookie-authenticated request came from an origin that is not allowed.',
);

// The member routes are mounted under both prefixes; their tags come from the prefix's group.
const docs = {
  verify: describeRoute({
    operationId: identityOperationId('verifyIdentityToken'),
    summary: 'Check that the token is valid and belongs to this identity',
    security: AUTHENTICATED,
    responses: {
      204: noContent('Valid, and this identity’s.'),
      ...errors(401, 503),
      400: error(400, 'invalid_request: a malformed identity, or a valid token of another identity.'),
    },
  }),
  setEmail: describeRoute({
    operationId: identityOperationId('setIdentityEmail'),
    summary: 'Attach an unverified email to the caller’s identity',
    security: AUTHENTICATED,
    responses: { 200: json('Attached.', EmailSet), ...errors(400, 403, 503), 401: NOT_THAT_IDENTITY },
  }),
  listDatabases: describeRoute({
    operationId: identityOperationId('listIdentityDatabases'),
    summary: 'The database addresses registered to an identity',
    security: PUBLIC,
    responses: { 200: json('The addresses.', DatabaseList), ...errors(400, 503) },
  }),
  registerDatabase: describeRoute({
    operationId: identityOperationId('registerIdentityDatabase'),
    summary: 'Register a database address to the caller’s identity',
    security: AUTHENTICATED,
    responses: { 204: noContent('Registered (or it was already).'), ...errors(400, 503), 401: NOT_THAT_IDENTITY, 403: ADDRESS_TAKEN },
  }),
  removeDatabase: describeRoute({
    operationId: identityOperationId('removeIdentityDatabase'),
    summary: 'Remove a database address from the caller’s identity',
    security: AUTHENTICATED,
    responses: { 204: noContent('Removed (or it was not there).'), ...errors(400, 403, 503), 401: NOT_THAT_IDENTITY },
  }),
  create: describeRoute({
    operationId: 'createSpacetimeIdentity',
    summary: 'A new anonymous account and its long-lived identity token',
    security: PUBLIC,
    responses: {
      200: json('The identity and its token.', IdentityToken),
      ...errors(503),
      429: error(429, 'rate_limited: too many identities created from this client IP.'),
    },
  }),
  createLegacy: describeRoute({
    operationId: 'legacyCreateIdentity',
    summary: 'A new anonymous account, with an unverified email when given',
    security: PUBLIC,
    responses: {
      200: json('The identity and its token.', IdentityToken),
      ...errors(400, 503),
      429: error(429, 'rate_limited: too many identities created from this client IP.'),
    },
  }),
  findByEmail: describeRoute({
    operationId: 'legacyFindIdentitiesByEmail',
    summary: 'The identities that verified or claimed an email',
    security: PUBLIC,
    responses: { 200: json('The identities (an empty list when none).', IdentitiesByEmail), ...errors(400, 503) },
  }),
  websocketToken: describeRoute({
    operationId: identityOperationId('createWebsocketToken'),
    summary: 'A short-lived token (60 s) for a SpacetimeDB connection',
    security: AUTHENTICATED,
    responses: { 200: json('The token.', WebsocketToken), ...errors(401, 403, 503) },
  }),
  publicKey: describeRoute({
    operationId: 'getPublicKey',
    summary: 'The SPKI PEM of the key that signs identity tokens now',
    description:
      'One key only, as SpacetimeDB serves it: the signing key, which changes when a rotated key activates. Tokens signed before a rotation verify with the keys of `/.well-known/jwks.json`.',
    security: PUBLIC,
    responses: { 200: body('-----BEGIN PUBLIC KEY----- …', 'application/pem-certificate-chain'), ...errors(503) },
  }),
};

/** `/:identity/…` routes, the same under `/v1/identity` and the legacy `/identity`. */
function identityMemberRoutes(deps: Deps) {
  const caller = requireAuth(deps, { accept: ['session', 'identity-token'] });
  return new Hono<AppEnv>()
    .get('/:identity/verify', docs.verify, validate('param', identityParam), caller, (c) => {
      const result = verifyOwnIdentity(c.var.caller, c.req.valid('param').identity);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    })
    .post('/:identity/set-email', docs.setEmail, validate('param', identityParam), caller, validate('query', emailQuery), async (c) => {
      const { identity } = c.req.valid('param');
      const { email } = c.req.valid('query');
      const result = await setUnverifiedEmail(deps, c.var.caller, identity, email, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity, email }, 200);
    })
    .get('/:identity/databases', docs.listDatabases, validate('param', identityParam), async (c) => {
      return c.json({ addresses: await listIdentityDatabases(deps, c.req.valid('param').identity) }, 200);
    })
    .put('/:identity/databases/:address', docs.registerDatabase, validate('param', databaseParam), caller, async (c) => {
      const { identity, address } = c.req.valid('param');
      const result = await registerIdentityDatabase(deps, c.var.caller, identity, address);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    })
    .delete('/:identity/databases/:address', docs.removeDatabase, validate('param', databaseParam), caller, async (c) => {
      const { identity, address } = c.req.valid('param');
      const result = await removeIdentityDatabase(deps, c.var.caller, identity, address);
      if (!result.ok) return failure(c, result);
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
    .use(describeRoute({ tags: ['spacetime'] }))
    .post('/', docs.create, async (c) => {
      const result = await createAnonymousAccount(deps, null, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: result.user.identity, token: result.token }, 200);
    })
    .post('/websocket-token', docs.websocketToken, requireAuth(deps, { accept: ['session', 'identity-token'] }), websocketToken(deps))
    .get('/public-key', docs.publicKey, async (c) => {
      const key = await getSigningKey(deps);
      return c.body(key.publicPem, 200, { 'Content-Type': 'application/pem-certificate-chain' });
    })
    .route('/', identityMemberRoutes(deps));
}

/** `/identity`: the routes of SpacetimeDB before 1.0. */
export function legacyIdentityRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .use(describeRoute({ tags: ['spacetime-legacy'] }))
    .post('/', docs.createLegacy, validate('query', optionalEmailQuery), async (c) => {
      const result = await createAnonymousAccount(deps, c.req.valid('query').email ?? null, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: result.user.identity, token: result.token }, 200);
    })
    .get('/', docs.findByEmail, validate('query', emailQuery), async (c) => {
      return c.json({ identities: await findIdentitiesByEmail(deps, c.req.valid('query').email) }, 200);
    })
    .post('/websocket_token', docs.websocketToken, requireAuth(deps, { accept: ['session', 'identity-token'] }), websocketToken(deps))
    .route('/', identityMemberRoutes(deps));
}
