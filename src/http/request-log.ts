import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps';

export const REQUEST_ID_HEADER = 'x-request-id';

// An incoming id is kept only when it is a short token that cannot break a log line or a header.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One JSON log line per request: request id, method, path, status and duration. Only the path
 * is logged, never the query string or headers, so no code, token, cookie or key reaches a log.
 * The request id is echoed in `X-Request-Id`.
 */
export function requestLog(deps: Pick<Deps, 'log' | 'random'>): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : newRequestId(deps);
    c.header(REQUEST_ID_HEADER, requestId);
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

function newRequestId(deps: Pick<Deps, 'random'>): string {
  return Array.from(deps.random.bytes(12), (b) => b.toString(16).padStart(2, '0')).join('');
}
