import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { Schema } from 'hono/types';
import type { Deps } from './deps';
import { isClientOrigin } from './domain/oidc/clients';
import type { AppEnv } from './http/env';
import { challengeWith } from './http/auth';
import { limitBody } from './http/body-limit';
import { corsFixedHeaders, corsHeaders } from './http/cors';
import { createErrorHandler, notFound } from './http/errors';
import { accountRoutes } from './http/routes/account';
import { activityRoutes } from './http/routes/activity';
import { adminRoutes } from './http/routes/admin';
import { profileRoutes } from './http/routes/profiles';
import { demoRoutes } from './http/routes/demo';
import { oauthAssetRoutes } from './http/routes/oauth-assets';
import { passkeyRoutes } from './http/routes/passkeys';
import { requestLog } from './http/request-log';
import { securityHeaderRecord, securityHeaders } from './http/security-headers';
import { docsRoutes } from './http/routes/docs';
import { healthRoutes } from './http/routes/health';
import { sessionRoutes } from './http/routes/sessions';
import { oauthRoutes } from './http/routes/oauth';
import { legacyIdentityRoutes, spacetimeIdentityRoutes } from './http/routes/spacetime';
import { verifyRoutes } from './http/routes/verify';
import { wellKnownRoutes } from './http/routes/well-known';

export interface AppOptions {
  /** The client's IP address as the runtime knows it (socket on Node, `cf-connecting-ip` on Workers). */
  clientIp?: (c: Context) => string | null;
  /** The runtime gives a request without `Content-Length` or `Transfer-Encoding` no body (HTTP/1.1, as Node's server). */
  unframedBodyIsEmpty?: boolean;
  /**
   * The runtime writes `fixedResponseHeaders(config)` on every answer before the app runs, a
   * route's own header of the same name overriding it (Node's adapter); the app then leaves them out.
   */
  fixedHeadersWritten?: boolean;
  /**
   * Puts a header on this request's answer before the answer is made, a route's own header of
   * the same name overriding it, the way `fixedHeadersWritten` does (Node: straight onto its
   * response object). Without it the app sets it through hono's `c.header`, which makes every
   * answer carry a full `Headers` object.
   */
  presetHeader?: (c: Context, name: string, value: string) => void;
}

const CORS = {
  allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowHeaders: ['Content-Type', 'Authorization'],
  exposeHeaders: ['Retry-After', 'X-Request-Id', 'WWW-Authenticate'],
  maxAge: 600,
};

/** The headers every answer carries, whatever its request, unless its route set them: the security headers and the fixed CORS ones. */
export function fixedResponseHeaders(config: Deps['config']): Record<string, string> {
  return { ...securityHeaderRecord(config), ...corsFixedHeaders(CORS) };
}

const MAX_BODY_BYTES = 64 * 1024;

/** The whole HTTP API over the given dependencies; the same on Node and Workers. */
export function createApp(deps: Deps, options: AppOptions = {}) {
  const clientIp = options.clientIp ?? ((c: Context) => c.req.header('cf-connecting-ip') ?? null);
  const base = new Hono<AppEnv>();
  // Where the runtime writes the fixed headers itself (Node's listener), no middleware does.
  if (!options.fixedHeadersWritten) base.use(securityHeaders(deps.config));
  const app = base
    .use(requestLog(deps, options.presetHeader))
    .use(corsPolicy(deps, options))
    .use(limitBody(MAX_BODY_BYTES, { unframedIsEmpty: options.unframedBodyIsEmpty }))
    .use(challengeWith(deps.config, ['Bearer']))
    // The SpacetimeDB-style routes also name Basic, which older SpacetimeDB clients send.
    .use('/v1/identity/*', challengeWith(deps.config, ['Bearer', 'Basic']))
    .use('/identity/*', challengeWith(deps.config, ['Bearer', 'Basic']))
    .use(async (c, next) => {
      c.set('meta', { ipAddress: clientIp(c), userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null });
      await next();
    })
    .route('/', healthRoutes(deps))
    // The document lists every route of `app`, whatever is mounted below; it is built on first use.
    .route('/', docsRoutes((): Hono<AppEnv, Schema, string> => app, deps.config))
    .route('/auth/verify', verifyRoutes(deps))
    .route('/auth/sessions', sessionRoutes(deps))
    .route('/auth/account', accountRoutes(deps))
    .route('/identities', profileRoutes(deps))
    .route('/activity', activityRoutes(deps))
    .route('/admin', adminRoutes(deps))
    .route('/v1/identity', spacetimeIdentityRoutes(deps))
    .route('/identity', legacyIdentityRoutes(deps))
    .route('/.well-known', wellKnownRoutes(deps))
    .route('/auth/passkeys', passkeyRoutes(deps))
    .route('/oauth', oauthRoutes(deps))
    .route('/oauth/assets', oauthAssetRoutes())
    .route('/', demoRoutes(deps.config));

  app.onError(createErrorHandler(deps.log));
  app.notFound(notFound);
  return app;
}

/**
 * Who may read answers cross-origin. The API: the configured `ORIGIN`s, with credentials (the
 * session cookie). Discovery and the JWKS: anyone, without credentials. The token, userinfo and
 * revocation endpoints of the OpenID Connect provider: the origins of the clients' redirect URIs
 * (and `ORIGIN`s), without credentials — a client authenticates itself in the request.
 */
function corsPolicy(deps: Deps, options: AppOptions): MiddlewareHandler<AppEnv> {
  const api = corsHeaders({ origins: deps.config.origins, ...CORS, fixedWritten: options.fixedHeadersWritten });
  const discovery = cors({ origin: '*', allowMethods: ['GET', 'HEAD'], maxAge: 600 });
  const oauth = cors({
    origin: async (origin) => (deps.config.origins.includes(origin) || (await isClientOrigin(deps, origin)) ? origin : null),
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['Content-Type', 'Authorization'],
    exposeHeaders: ['WWW-Authenticate'],
    maxAge: 600,
  });
  const OAUTH_ENDPOINTS = new Set(['/oauth/token', '/oauth/userinfo', '/oauth/revoke']);
  return (c, next) => {
    const path = c.req.path;
    if (path.startsWith('/.well-known/')) return discovery(c, next);
    if (OAUTH_ENDPOINTS.has(path)) return oauth(c, next);
    return api(c, next);
  };
}

export type App = ReturnType<typeof createApp>;
