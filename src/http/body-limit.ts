import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './env';
import { errorResponse } from './errors';

/**
 * Refuses a body over `maxSize` bytes with `payload_too_large`. GET and HEAD are passed over:
 * their requests carry no body the app reads (the runtime drops it), and asking for one would
 * make @hono/node-server build the full `Request` (headers, an `AbortSignal`) for nothing.
 */
export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({ maxSize, onError: (c) => errorResponse(c, 'payload_too_large') });
  return (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, next));
}
