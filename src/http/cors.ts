import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

export interface CorsOptions {
  /** The browser origins allowed to call with credentials. */
  origins: readonly string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  /** Seconds a preflight answer may be cached. */
  maxAge: number;
  /** The runtime writes `corsFixedHeaders(options)` on every answer itself; only the allowed origin is left to write here. */
  fixedWritten?: boolean;
}

/**
 * The CORS headers of every answer but a preflight, whatever its origin: exposed headers and
 * `Vary: Origin`. `Access-Control-Allow-Credentials` goes only with an allowed origin, so the
 * public documents (discovery, JWKS) and the OpenID Connect endpoints, which allow no
 * credentials, never carry it.
 */
export function corsFixedHeaders(options: Pick<CorsOptions, 'exposeHeaders'>): Record<string, string> {
  return {
    ...(options.exposeHeaders.length > 0 && { 'Access-Control-Expose-Headers': options.exposeHeaders.join(',') }),
    Vary: 'Origin',
  };
}

/**
 * CORS with credentials for the allowed origins. A preflight (`OPTIONS`) is hono's `cors`
 * answer as it is. Any other request gets the same headers as hono's `cors` gives it, written
 * once onto the final answer: hono's sets them on `c.res` before the route runs, which makes
 * Hono copy that placeholder answer into the route's, a full `Response` built per request.
 */
export function corsHeaders(options: CorsOptions): MiddlewareHandler {
  const preflight = cors({
    origin: (origin) => (options.origins.includes(origin) ? origin : null),
    credentials: true,
    allowMethods: options.allowMethods,
    allowHeaders: options.allowHeaders,
    exposeHeaders: options.exposeHeaders,
    maxAge: options.maxAge,
  });
  const expose = options.exposeHeaders.join(',');
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    const origin = c.req.header('origin');
    await next();
    // Read only when written to: on @hono/node-server, an answer made with plain headers gets a
    // full `Headers` object the first time anything reads them.
    if (origin && options.origins.includes(origin)) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Access-Control-Allow-Credentials', 'true');
    }
    if (options.fixedWritten) return;
    const headers = c.res.headers;
    if (expose) headers.set('Access-Control-Expose-Headers', expose);
    headers.append('Vary', 'Origin');
  };
}
