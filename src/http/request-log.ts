import type { Context, MiddlewareHandler } from 'hono';
import type { Deps } from '../deps';
import { randomHex } from '../domain/crypto';
import type { AppEnv } from './env';

export const REQUEST_ID_HEADER = 'x-request-id';
/** hono's `requestId` rule: an incoming id of these characters, up to this length, is kept. */
const INCOMING_ID_MAX = 128;
const NOT_ID_CHARACTER = /[^\w\-=]/;

/** The request's id: the incoming `X-Request-Id` when it is a short token, else a new one. */
export function requestIdFor(incoming: string | undefined, random: Deps['random']): string {
  return incoming && incoming.length <= INCOMING_ID_MAX && !NOT_ID_CHARACTER.test(incoming) ? incoming : randomHex(random, 12);
}

/** The fields of a request's log line. */
export function requestLogFields(requestId: string, method: string, path: string, status: number, started: number) {
  return { requestId, method, path, status, durationMs: Math.round((performance.now() - started) * 100) / 100 };
}

/**
 * `X-Request-Id` and one JSON log line per request, in one middleware (the first of every
 * request, so it times and logs all of it).
 *
 * The id: an incoming one is kept when it is a short token (`[A-Za-z0-9_=-]`, up to 128
 * characters, hono's `requestId` rule), so it cannot break a log line or a header; else a new
 * one is made. The answer carries it, whatever made the answer: put there by `presetHeader`
 * when the runtime gives one (see `AppOptions`), else through hono's context.
 *
 * The line: request id, method, path, status and duration. Only the path is logged, never the
 * query string or headers, so no code, token, cookie or key reaches a log.
 */
export function requestLog(
  deps: Pick<Deps, 'log' | 'random'>,
  presetHeader?: (c: Context, name: string, value: string) => void,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdFor(c.req.header(REQUEST_ID_HEADER), deps.random);
    c.set('requestId', requestId);
    if (presetHeader) presetHeader(c, REQUEST_ID_HEADER, requestId);
    else c.header(REQUEST_ID_HEADER, requestId);
    try {
      await next();
    } finally {
      const status = c.res.status;
      if (!presetHeader && !c.res.headers.has(REQUEST_ID_HEADER)) {
        try {
          c.res.headers.set(REQUEST_ID_HEADER, requestId);
        } catch {
          // an immutable response (passed through from fetch) keeps its headers
        }
      }
      deps.log.log(status >= 500 ? 'error' : 'info', 'request', requestLogFields(requestId, c.req.method, c.req.path, status, started));
    }
  };
}
