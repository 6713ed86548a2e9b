import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { Deps } from '../../deps';
import { listPublishedKeys, SIGNING_ALG } from '../../domain/keys/keys';
import type { AppEnv } from '../env';
import { errors, json, PUBLIC } from '../openapi-docs';
import { Jwks, OpenIdConfiguration } from '../openapi-schemas';

const CACHE = 'public, max-age=300';

const docs = {
  configuration: describeRoute({
    operationId: 'getOpenIdConfiguration',
    summary: 'OpenID Connect discovery document',
    tags: ['discovery'],
    security: PUBLIC,
    responses: { 200: json('The issuer’s metadata.', OpenIdConfiguration) },
  }),
  jwks: describeRoute({
    operationId: 'getJwks',
    summary: 'The public keys that verify this issuer’s tokens',
    tags: ['discovery'],
    security: PUBLIC,
    responses: { 200: json('A JWK set; every key has a kid.', Jwks), ...errors(503) },
  }),
};

/** OpenID Connect discovery: what SpacetimeDB reads to verify this issuer's tokens offline. */
export function wellKnownRoutes(deps: Deps) {
  const issuer = deps.config.issuer;
  return new Hono<AppEnv>()
    .get('/openid-configuration', docs.configuration, (c) => {
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
    .get('/jwks.json', docs.jwks, async (c) => {
      const keys = await listPublishedKeys(deps);
      c.header('Cache-Control', CACHE);
      return c.json({ keys }, 200);
    });
}
