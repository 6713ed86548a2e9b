import type { MiddlewareHandler } from 'hono';
import { requestId as requestIdMiddleware } from 'hono/request-id';
import type { Deps } from '../deps';
import { randomHex } from '../domain/crypto';
import type { AppEnv } from './env';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * `X-Request-Id`: an incoming id is kept when it is a short token (`[A-Za-z0-9_=-]`, up to 128
 * characters, hono's rule), so it cannot break a log line or a header; else a new one is made.
 */
export function requestId(deps: Pick<Deps, 'random'>): MiddlewareHandler<AppEnv> {
  return requestIdMiddleware({ limitLength: 128, headerName: REQUEST_ID_HEADER, generator: () => randomHex(deps.random, 12) });
}

/**
 * One JSON log line per request: request id, method, path, status and duration. Only the path
 * is logged, never the query string or headers, so no code, token, cookie or key reaches a log.
 * Runs after `requestId`, whose id it logs and makes sure the answer carries.
 */
export function requestLog(deps: Pick<Deps, 'log'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = c.get('requestId');
    try {
      await next();
    } finally {
      const status = c.res.status;
      if (!c.res.headers.has(REQUEST_ID_HEADER)) {
        try {
          c.res.headers.set(REQUEST_ID_HEADER, requestId);
        } catch {
          // an immutable response (passed through from fetch) keeps its headers
        }
      }
      deps.log.log(status >= 500 ? 'error' : 'info', 'request', {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    }
  };
}
