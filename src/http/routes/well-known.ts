import { Hono } from 'hono';
import type { Deps } from '../../deps';
import { getSigningKey, SIGNING_ALG } from '../../domain/spacetime/keys';
import type { AppEnv } from '../env';

const CACHE = 'public, max-age=300';

/** OpenID Connect discovery: what SpacetimeDB reads to verify this issuer's tokens offline. */
export function wellKnownRoutes(deps: Deps) {
  const issuer = deps.config.issuer;
  return new Hono<AppEnv>()
    .get('/openid-configuration', (c) => {
      c.header('Cache-Control', CACHE);
      return c.json(
        {
          issuer,
          jwks_uri: `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: [SIGNING_ALG],
          claims_supported: ['sub', 'iss', 'aud', 'iat', 'exp', 'hex_identity'],
        },
        200,
      );
    })
    .get('/jwks.json', async (c) => {
      const key = await getSigningKey(deps);
      c.header('Cache-Control', CACHE);
      return c.json({ keys: [key.publicJwk] }, 200);
    });
}
