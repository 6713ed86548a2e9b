import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { Deps } from '../../deps';
import { listPublishedKeys, SIGNING_ALG } from '../../domain/keys/keys';
import { SUPPORTED_SCOPES } from '../../domain/oidc/authorize';
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
  authorizationServer: describeRoute({
    operationId: 'getOAuthAuthorizationServerMetadata',
    summary: 'OAuth 2.0 authorization server metadata (RFC 8414): the same document',
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

/** OpenID Connect discovery (OIDC.md): what SpacetimeDB and OpenID Connect clients read of this issuer. */
export function wellKnownRoutes(deps: Deps) {
  const issuer = deps.config.issuer;
  const base = issuer.replace(/\/+$/, '');
  const configuration = {
    issuer,
    jwks_uri: `${base}/.well-known/jwks.json`,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    userinfo_endpoint: `${base}/oauth/userinfo`,
    end_session_endpoint: `${base}/oauth/logout`,
    revocation_endpoint: `${base}/oauth/revoke`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...SUPPORTED_SCOPES],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [SIGNING_ALG],
    authorization_response_iss_parameter_supported: true,
    claims_supported: [
      'iss',
      'sub',
      'aud',
      'iat',
      'exp',
      'auth_time',
      'nonce',
      'sid',
      'amr',
      'hex_identity',
      'email',
      'email_verified',
      'name',
      'preferred_username',
      'picture',
    ],
  };
  return new Hono<AppEnv>()
    .get('/openid-configuration', docs.configuration, (c) => c.json(configuration, 200, { 'Cache-Control': CACHE }))
    .get('/oauth-authorization-server', docs.authorizationServer, (c) => c.json(configuration, 200, { 'Cache-Control': CACHE }))
    .get('/jwks.json', docs.jwks, async (c) => {
      const keys = await listPublishedKeys(deps);
      c.header('Cache-Control', CACHE);
      return c.json({ keys }, 200);
    });
}
