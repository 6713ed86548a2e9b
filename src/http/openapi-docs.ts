import type { RouterRoute } from 'hono/types';
import { resolver, type DescribeRouteOptions, type GenerateSpecOptions } from 'hono-openapi';
import type { ZodType } from 'zod';
import type { Config } from '../config';
import { ErrorBody, OAuthErrorBody } from './openapi-schemas';

/*
 * Small helpers for the routes' describeRoute() entries (hono-openapi), and the document-wide
 * parts of GET /openapi.json: info, servers, tags and the credential schemes.
 */

type Responses = NonNullable<DescribeRouteOptions['responses']>;
type Response = Responses[string];

/** A JSON success body, converted from the zod schema of what the route sends. */
export function json(description: string, schema: ZodType): Response {
  return { description, content: { 'application/json': { schema: resolver(schema, { options: { io: 'output' } }) } } };
}

/** A success answer of another media type (HTML, JavaScript, PEM). */
export function body(description: string, mediaType: string): Response {
  return { description, content: { [mediaType]: { schema: { type: 'string' } } } };
}

export function noContent(description: string): Response {
  return { description };
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503;

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'invalid_request: the input failed its schema; `issues` says where.',
  401: 'unauthorized: missing, malformed, expired or revoked credentials.',
  403: 'forbidden: a cookie-authenticated change from an origin that is not allowed.',
  404: 'not_found: no such resource, or not the caller’s.',
  409: 'conflict with the current state.',
  413: 'payload_too_large: the body is over 64 KiB.',
  429: 'rate_limited: too many requests; retry after `Retry-After` seconds.',
  503: 'unavailable: the database cannot be reached; try again shortly.',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
} as const;

/** An error answer in the contract's shape; a 429 also documents its Retry-After header. */
export function error(status: ErrorStatus, description: string = ERROR_DESCRIPTIONS[status]): Response {
  return {
    description,
    ...(status === 429 ? { headers: RETRY_AFTER } : {}),
    content: { 'application/json': { schema: resolver(ErrorBody, { options: { io: 'output' } }) } },
  };
}

/** An error of the /oauth/* endpoints, in the OAuth shape `{ error, error_description }` (RFC 6749 §5.2). */
export function oauthError(description: string): Response {
  return { description, content: { 'application/json': { schema: resolver(OAuthErrorBody, { options: { io: 'output' } }) } } };
}

/** An answer that is an HTML page (the provider's sign-in, error and sign-out pages). */
export function htmlPage(description: string): Response {
  return { description, content: { 'text/html': { schema: { type: 'string' } } } };
}

/** A redirect; `Location` says where. */
export function redirect(description: string): Response {
  return { description, headers: { Location: { description: 'Where the browser goes next.', schema: { type: 'string' } } } };
}

/** The generic error answers of these statuses: `...errors(400, 401, 503)`. */
export function errors(...statuses: ErrorStatus[]): Responses {
  return Object.fromEntries(statuses.map((status) => [status, error(status)]));
}

/** No credentials: `security: PUBLIC`. */
export const PUBLIC: DescribeRouteOptions['security'] = [];
/** A session token (or, on the identity routes, an identity token) in any of the three places. */
export const AUTHENTICATED: DescribeRouteOptions['security'] = [{ bearer: [] }, { basic: [] }, { cookie: [] }];

/**
 * The identity routes are mounted twice, under `/v1/identity` and the legacy `/identity`, from one
 * set of route declarations; the legacy copy's operation ids get a `legacy` prefix.
 */
export function identityOperationId(name: string): (route: RouterRoute) => string {
  return (route) => (route.path.startsWith('/identity/') ? `legacy${name[0]!.toUpperCase()}${name.slice(1)}` : name);
}

const TAGS = [
  { name: 'codes', description: 'Email one-time sign-in codes.' },
  { name: 'sessions', description: 'Sign-in and the caller’s sessions.' },
  { name: 'account', description: 'The caller’s own account: its email address, and deleting it.' },
  { name: 'passkeys', description: 'WebAuthn passkeys: registration and passwordless sign-in.' },
  { name: 'identities', description: 'The caller’s profiles (display personas), 1 to 5 per account.' },
  { name: 'activity', description: 'The caller’s security log.' },
  { name: 'admin', description: 'Administration of users and signing keys, for sessions with the users:* permissions.' },
  { name: 'spacetime', description: 'SpacetimeDB-compatible identities and tokens (`/v1/identity`).' },
  { name: 'spacetime-legacy', description: 'The same for SpacetimeDB clients before 1.0 (`/identity`).' },
  { name: 'discovery', description: 'OpenID Connect discovery and the signing keys.' },
  { name: 'oauth', description: 'The OpenID Connect provider: authorization code with PKCE, tokens, userinfo, revocation, sign-out (OIDC.md). Errors use the OAuth shape `{ error, error_description }`.' },
  { name: 'health', description: 'Liveness and readiness probes.' },
  { name: 'docs', description: 'This reference, as OpenAPI and as HTML.' },
  { name: 'demo', description: 'The demo single-page app and the OpenID Connect example page.' },
];

/** hono-openapi's options for the whole document. */
export function openApiOptions(config: Pick<Config, 'issuer'>): Partial<GenerateSpecOptions> {
  return {
    // Every route is documented, static-looking paths (/openapi.json, the demo's scripts) included.
    excludeStaticFile: false,
    // Validators add their 400; the contract's error shape replaces the library's default one.
    defaultValidationErrorResponse: { description: ERROR_DESCRIPTIONS[400], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    documentation: {
      info: {
        title: 'Passwordless auth API',
        version: '0.1.0',
        description:
          'Email one-time codes, passkeys, sessions and SpacetimeDB-compatible identity tokens. Request schemas are converted from the zod schemas the server validates with. Every error answers `{ "error": { "code", "message", "issues"? } }`.',
      },
      servers: [{ url: config.issuer.replace(/\/+$/, ''), description: 'This server (its ISSUER).' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'A session token from POST /auth/sessions (or, on identity routes, an identity token).',
          },
          basic: {
            type: 'http',
            scheme: 'basic',
            description: 'User name `token`, password the token: `Basic base64("token:" + token)`, for older SpacetimeDB clients.',
          },
          cookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'session',
            description:
              'The HttpOnly `session` cookie set by POST /auth/sessions. A state-changing request authenticated by it must come from an allowed Origin.',
          },
        },
      },
    },
  };
}
