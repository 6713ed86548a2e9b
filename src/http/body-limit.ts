import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './env';
import { errorResponse } from './errors';

export interface BodyLimitOptions {
  /**
   * The runtime gives a request that has neither `Content-Length` nor `Transfer-Encoding` no
   * body (HTTP/1.1 framing: Node's server). Elsewhere (HTTP/2 on Workers) such a body may still
   * stream in and is counted as it is read.
   */
  unframedIsEmpty?: boolean;
}

/**
 * Refuses a body over `maxSize` bytes with `payload_too_large`: hono's `bodyLimit`, after
 * cheaper answers where the headers already give one. GET and HEAD are passed over (their
 * bodies are dropped by the runtime); a `Content-Length` without `Transfer-Encoding` is compared
 * as it is; so is no framing at all where that means no body. None of these touch the body, which
 * on @hono/node-server would build the full `Request` (its headers, an `AbortSignal`, a stream).
 */
export function limitBody(maxSize: number, options: BodyLimitOptions = {}): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({ maxSize, onError: (c) => errorResponse(c, 'payload_too_large') });
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    if (c.req.header('transfer-encoding') === undefined) {
      const length = c.req.header('content-length');
      if (length !== undefined) return Number.parseInt(length, 10) > maxSize ? errorResponse(c, 'payload_too_large') : next();
      if (options.unframedIsEmpty) return next();
    }
    return limit(c, next);
  };
}
